using System.ComponentModel.DataAnnotations;

namespace OtpVerification.AspNetCore;

/// <summary>
/// The fields every signup form carries. Derive from it to add your own fields (with
/// DataAnnotations, which are checked at start); the whole form is kept, protected, until the
/// code is verified, then handed to the completion step.
/// </summary>
public class OtpSignupForm
{
    /// <summary>
    /// The email address; the pending registration is keyed by it. May be left out with
    /// <c>channel: "sms"</c> (or a <see cref="PhoneProof"/>): the account is then identified by the phone.
    /// </summary>
    public string? Email { get; set; }

    /// <summary>The password; checked against the app's policy at start, hashed only at completion.</summary>
    public string? Password { get; set; }

    /// <summary>An optional phone number (E.164 after normalisation); needed for <c>channel: "sms"</c>.</summary>
    public string? Phone { get; set; }

    /// <summary><c>email</c> (default) or <c>sms</c>: where the code goes first.</summary>
    public string? Channel { get; set; }

    /// <summary>An optional device id; when given, verify must come with the same one.</summary>
    [StringLength(128, ErrorMessage = "The device id must be at most 128 characters.")]
    public string? DeviceId { get; set; }

    /// <summary>
    /// A <c>phoneProof</c> answered by <c>POST /phone-verification/verify</c> for <see cref="Phone"/>
    /// and <see cref="DeviceId"/>: start then creates the user at once, with no second code.
    /// </summary>
    public string? PhoneProof { get; set; }
}

/// <summary>The body of <c>POST …/resend</c>, <c>POST /password-reset/start</c> and <c>POST /signin/code/start</c>.</summary>
public sealed class OtpAddressRequest
{
    /// <summary>The email address.</summary>
    public string? Email { get; set; }

    /// <summary>The phone number, instead of the email, for an account identified by its phone (not for password reset).</summary>
    public string? Phone { get; set; }

    /// <summary>An optional device id (sign-in start): when given, verify must come with the same one.</summary>
    public string? DeviceId { get; set; }
}

/// <summary>The body of <c>POST …/verify</c> (signup, sign-in).</summary>
public sealed class OtpVerifyRequest
{
    /// <summary>The email address.</summary>
    public string? Email { get; set; }

    /// <summary>The phone number, instead of the email, for a flow keyed by the phone.</summary>
    public string? Phone { get; set; }

    /// <summary>The flow id start answered.</summary>
    public string? FlowId { get; set; }

    /// <summary>The code as received.</summary>
    public string? Code { get; set; }

    /// <summary>The device id, when start carried one.</summary>
    public string? DeviceId { get; set; }
}

/// <summary>The body of <c>POST /password-reset/complete</c>.</summary>
public sealed class OtpPasswordResetCompleteRequest
{
    /// <summary>The email address.</summary>
    public string? Email { get; set; }

    /// <summary>The code as received.</summary>
    public string? Code { get; set; }

    /// <summary>The flow id start answered.</summary>
    public string? FlowId { get; set; }

    /// <summary>The new password.</summary>
    public string? NewPassword { get; set; }
}

/// <summary>The 202 answer to start and resend.</summary>
/// <param name="ExpiresIn">Seconds the code is valid.</param>
/// <param name="ResendAfter">Seconds until another code may be requested.</param>
/// <param name="FlowId">For start, the flow's opaque id: verify must send it back (absent from resend answers).</param>
public sealed record OtpSendResponse(
    long ExpiresIn,
    long ResendAfter,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? FlowId = null);

/// <summary>The body of <c>POST /phone-verification/start</c> and <c>…/verify</c>.</summary>
public sealed class OtpPhoneVerificationRequest
{
    /// <summary>The phone number (E.164 after normalisation).</summary>
    public string? Phone { get; set; }

    /// <summary>The device the proof will be bound to (required).</summary>
    public string? DeviceId { get; set; }

    /// <summary>For verify: the flow id start answered.</summary>
    public string? FlowId { get; set; }

    /// <summary>For verify: the code as received.</summary>
    public string? Code { get; set; }
}

/// <summary>The 200 answer to <c>POST /phone-verification/verify</c>.</summary>
/// <param name="PhoneProof">The proof: opaque, protected, bound to the phone and the device, good once.</param>
/// <param name="ExpiresIn">Seconds the proof is accepted.</param>
public sealed record OtpPhoneProofResponse(string PhoneProof, long ExpiresIn);

/// <summary>The 200 answer to verify (signup, sign-in) and to a signup start with a phone proof.</summary>
public sealed class OtpVerifyResponse
{
    /// <summary>The user's id.</summary>
    public required string UserId { get; init; }

    /// <summary>The verified email; <see langword="null"/> for an account identified by its phone.</summary>
    public required string? Email { get; init; }

    /// <summary>The verified phone, for an account identified by its phone.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Phone { get; init; }

    /// <summary><c>Bearer</c> when tokens are returned.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? TokenType { get; init; }

    /// <summary>The access token (without <c>useCookies</c>).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? AccessToken { get; init; }

    /// <summary>Seconds the access token is valid.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public long? ExpiresIn { get; init; }

    /// <summary>The refresh token.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? RefreshToken { get; init; }
}
