using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace OtpVerification.Sample.RazorPages.Signup;

/// <summary>
/// What a browser keeps between the signup page and the code page: the address and the engine's
/// flow id, in a cookie protected with Data Protection (encrypted and signed), HttpOnly,
/// SameSite=Strict, and — because the form is pending, not the account — the pending form itself
/// encrypted for the store.
/// </summary>
/// <remarks>
/// Why a cookie rather than a hidden field: the flow id binds a verification to the client that
/// started it, so it belongs to the browser, not to a page. A protected HttpOnly cookie survives a
/// reload or a second visit to <c>/Verify</c> (a hidden field is lost on any GET, and putting it in
/// the query string would leak it into logs and Referer headers), scripts cannot read it, it cannot
/// be forged or edited (the address in it cannot be swapped), and SameSite=Strict keeps it off
/// cross-site posts. A hidden field would also work with antiforgery, but would show the flow id
/// in the HTML, and every page that posts would have to carry it.
/// </remarks>
/// <param name="provider">Data Protection.</param>
/// <param name="options">The OtpVerification options (how long a pending signup lives).</param>
public sealed class SignupFlow(IDataProtectionProvider provider, IOptions<OtpVerificationOptions> options)
{
    /// <summary>The cookie's name.</summary>
    public const string CookieName = "otp-signup-flow";

    private readonly IDataProtector _cookie = provider.CreateProtector("OtpVerification.Sample.RazorPages.SignupFlow.v1");
    private readonly IDataProtector _form = provider.CreateProtector("OtpVerification.Sample.RazorPages.PendingForm.v1");

    /// <summary>Encrypts the form for the pending store (the store only ever sees these bytes).</summary>
    /// <param name="form">The form.</param>
    /// <returns>The protected bytes.</returns>
    public byte[] ProtectForm(SignupForm form) => _form.Protect(JsonSerializer.SerializeToUtf8Bytes(form, JsonSerializerOptions.Web));

    /// <summary>Decrypts a pending form; null when this instance cannot (a key ring not shared).</summary>
    /// <param name="payload">The protected bytes.</param>
    /// <returns>The form, or null.</returns>
    public SignupForm? UnprotectForm(byte[] payload)
    {
        try
        {
            return JsonSerializer.Deserialize<SignupForm>(_form.Unprotect(payload), JsonSerializerOptions.Web);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    /// <summary>Remembers the flow in the browser.</summary>
    /// <param name="response">The response.</param>
    /// <param name="email">The normalised email.</param>
    /// <param name="flowId">The flow id start answered.</param>
    public void Write(HttpResponse response, string email, string flowId)
    {
        ArgumentNullException.ThrowIfNull(response);
        var value = _cookie.Protect(JsonSerializer.Serialize(new State(email, flowId), JsonSerializerOptions.Web));
        response.Cookies.Append(CookieName, value, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = response.HttpContext.Request.IsHttps,
            Path = "/",
            MaxAge = options.Value.PendingLifetime,
            IsEssential = true,
        });
    }

    /// <summary>Reads the flow this browser started; null when there is none, or it was tampered with.</summary>
    /// <param name="request">The request.</param>
    /// <returns>The address and flow id, or null.</returns>
    public State? Read(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Cookies[CookieName] is not { Length: > 0 } value)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<State>(_cookie.Unprotect(value), JsonSerializerOptions.Web);
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Forgets the flow (used, or no longer current).</summary>
    /// <param name="response">The response.</param>
    public static void Clear(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.Cookies.Delete(CookieName, new CookieOptions { Path = "/" });
    }

    /// <summary>The flow a browser holds.</summary>
    /// <param name="Email">The normalised email.</param>
    /// <param name="FlowId">The engine's flow id.</param>
    public sealed record State(string Email, string FlowId);
}
