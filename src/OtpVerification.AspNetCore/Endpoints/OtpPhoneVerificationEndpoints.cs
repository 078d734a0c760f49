using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification;
using OtpVerification.AspNetCore;

namespace Microsoft.AspNetCore.Routing;

public static partial class OtpEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps verify-first signup: <c>POST {prefix}/start</c> texts a code to a phone (202 with a
    /// <c>flowId</c>; the signup limits apply) and <c>POST {prefix}/verify</c> answers 200 with a
    /// <c>phoneProof</c>: short-lived, protected with Data Protection, bound to the phone and the
    /// device, and good for one <c>POST /signup/start</c>, which then creates the user at once.
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="prefix">The route prefix (default <c>/phone-verification</c>).</param>
    /// <returns>The group's convention builder.</returns>
    /// <exception cref="InvalidOperationException"><c>AddOtpSignup&lt;TForm&gt;()</c> was not called.</exception>
    public static RouteGroupBuilder MapOtpPhoneVerification(this IEndpointRouteBuilder endpoints, string prefix = "/phone-verification")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<OtpPhoneProofs>() is null)
        {
            throw new InvalidOperationException("Call services.AddOtpSignup<TForm>() before app.MapOtpPhoneVerification().");
        }

        var group = endpoints.MapGroup(prefix).WithTags("OtpPhoneVerification").DisableAntiforgery();
        group.AddEndpointFilter(DependencyFaultFilter);
        group.MapPost("/start", PhoneVerificationStartAsync).WithName(prefix.Trim('/') + ".start")
            .Produces<OtpSendResponse>(StatusCodes.Status202Accepted).ProducesProblem(400).ProducesProblem(409).ProducesProblem(413).ProducesProblem(429).ProducesProblem(503);
        group.MapPost("/verify", PhoneVerificationVerifyAsync).WithName(prefix.Trim('/') + ".verify")
            .Produces<OtpPhoneProofResponse>().ProducesProblem(400).ProducesProblem(413).ProducesProblem(503);
        return group;
    }

    private static async Task<Results<Accepted<OtpSendResponse>, ProblemHttpResult>> PhoneVerificationStartAsync(HttpContext context, OtpEngine engine, IOtpPhoneNumbers phones, Microsoft.Extensions.Options.IOptionsMonitor<OtpVerificationOptions> options, Microsoft.Extensions.Options.IOptions<OtpEndpointOptions> endpointOptions)
    {
        // A client this instance already saw refused (its hourly limit used up) is answered before
        // its body is read or validated: a flood from one client costs little more than a bare request.
        if (engine.KnownClientRefusal(OtpPurpose.PhoneVerification, endpointOptions.Value.ClientKey(context)) is { } known)
        {
            return SendAnswer(context, known);
        }

        var (request, problem) = await OtpRequestReader.ReadAsync<OtpPhoneVerificationRequest>(context.Request).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var phone = ValidatePhoneVerification(context, request!, phones, errors);
        if (phone is not null && !phones.AllowsSms(phone))
        {
            errors["phone"] = [OtpRequestLocalization.Text(context, "Validation.PhoneNoSms")];
        }
        else if (phone is not null && !engine.HasSender(OtpChannel.Sms))
        {
            errors["phone"] = [OtpRequestLocalization.Text(context, "Validation.ChannelUnavailable", "sms")];
        }

        if (errors.Count > 0)
        {
            return OtpProblems.Validation(errors);
        }

        // The signup rule: only an app that chose to reveal accounts says so at start; otherwise a
        // registered phone gets its code and proof, and signup with the proof answers 409.
        if (options.CurrentValue.RevealExistingAccounts
            && context.RequestServices.GetService<IOtpAccounts>() is { } accounts
            && await accounts.ExistsAsync(new OtpDestination(OtpChannel.Sms, phone!), context.RequestAborted).ConfigureAwait(false))
        {
            return OtpProblems.EmailTaken();
        }

        var result = await engine.StartAsync(
            new OtpStartRequest
            {
                Purpose = OtpPurpose.PhoneVerification,
                Address = phone!,
                Destinations = [new OtpDestination(OtpChannel.Sms, phone!)],
                DeviceId = request!.DeviceId,
                ClientKey = endpointOptions.Value.ClientKey(context),
                Culture = OtpRequestLocalization.MessageCulture,
                WebOtpHost = OtpRequestLocalization.WebOtpHost(context),
            },
            context.RequestAborted).ConfigureAwait(false);
        return SendAnswer(context, result);
    }

    private static async Task<Results<Ok<OtpPhoneProofResponse>, ProblemHttpResult>> PhoneVerificationVerifyAsync(HttpContext context, OtpEngine engine, IOtpPhoneNumbers phones, OtpPhoneProofs proofs)
    {
        var (request, problem) = await OtpRequestReader.ReadAsync<OtpPhoneVerificationRequest>(context.Request).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var phone = ValidatePhoneVerification(context, request!, phones, errors);
        ValidateVerify(context, request!.FlowId, request.Code, request.DeviceId, errors);
        if (errors.Count > 0)
        {
            return OtpProblems.Validation(errors);
        }

        var result = await engine.VerifyAsync(OtpPurpose.PhoneVerification, phone!, request.FlowId!, request.Code!, request.DeviceId, context.RequestAborted).ConfigureAwait(false);
        if (result.Outcome != OtpOutcome.Verified || result.Registration is not { } registration)
        {
            return OtpProblems.FromOutcome(context, result.Outcome, TimeSpan.Zero, result.AttemptsRemaining);
        }

        // Bound to the phone the code was texted to and the device the flow was started on.
        var proof = proofs.Issue(registration.DeliveredTo.Address, registration.DeviceId ?? request.DeviceId!);
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.Pragma = "no-cache";
        return TypedResults.Ok(new OtpPhoneProofResponse(proof, (long)OtpPhoneProofs.Lifetime.TotalSeconds));
    }

    private static string? ValidatePhoneVerification(HttpContext http, OtpPhoneVerificationRequest request, IOtpPhoneNumbers phones, Dictionary<string, string[]> errors)
    {
        string T(string key, params object?[] args) => OtpRequestLocalization.Text(http, key, args);
        string? phone = null;
        if (string.IsNullOrWhiteSpace(request.Phone))
        {
            errors["phone"] = [T("Validation.PhoneRequired")];
        }
        else if (!phones.TryNormalize(request.Phone, out phone))
        {
            errors["phone"] = [T("Validation.PhoneInvalid")];
        }

        if (string.IsNullOrWhiteSpace(request.DeviceId))
        {
            errors["deviceId"] = [T("Validation.DeviceIdRequiredForProof")];
        }
        else if (request.DeviceId.Length > MaxDeviceIdLength)
        {
            errors["deviceId"] = [T("Validation.DeviceIdTooLong", MaxDeviceIdLength)];
        }

        return phone;
    }

    /// <summary>
    /// <c>POST /signup/start</c> with a <c>phoneProof</c>: the proof is checked (in time, this phone,
    /// this device), then used in the store (once, across instances), then the user is created and
    /// signed in. Anything wrong with the proof is 400 <c>invalid_proof</c>. A fault of the user
    /// database after the proof was used is a 503, and the phone must be verified again.
    /// </summary>
    private static async Task<Results<Accepted<OtpSendResponse>, Ok<OtpVerifyResponse>, ProblemHttpResult>> StartWithPhoneProofAsync<TForm>(HttpContext context, TForm form, bool cookies)
        where TForm : OtpSignupForm
    {
        var proofs = context.RequestServices.GetRequiredService<OtpPhoneProofs>();
        if (!proofs.TryRead(form.PhoneProof, form.Phone!, form.DeviceId, out var redemption)
            || !await proofs.RedeemAsync(redemption, CancellationToken.None).ConfigureAwait(false))
        {
            return OtpProblems.InvalidProof();
        }

        var answer = await CompleteSignupAsync(context, form, new OtpDestination(OtpChannel.Sms, form.Phone!), cookies, undo: null).ConfigureAwait(false);
        return answer.Result switch
        {
            Ok<OtpVerifyResponse> ok => ok,
            ProblemHttpResult refused => refused,
            _ => OtpProblems.Unavailable(),
        };
    }
}
