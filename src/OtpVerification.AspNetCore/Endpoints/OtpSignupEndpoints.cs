using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OtpVerification;
using OtpVerification.AspNetCore;
using OtpVerification.Senders;

namespace Microsoft.AspNetCore.Routing;

/// <summary>Maps the OtpVerification HTTP endpoints.</summary>
public static partial class OtpEndpointRouteBuilderExtensions
{
    private const int MaxCodeLength = 32;
    private const int MaxPasswordLength = 512;
    private const int MaxFlowIdLength = 64;
    private const int MaxDeviceIdLength = 128;

    /// <summary>
    /// Maps <c>POST {prefix}/start</c>, <c>{prefix}/resend</c> and <c>{prefix}/verify</c> for the
    /// form registered with <c>AddOtpSignup&lt;TForm&gt;()</c>.
    /// </summary>
    /// <typeparam name="TForm">The signup form: the type given to <c>AddOtpSignup&lt;TForm&gt;()</c>.</typeparam>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="prefix">The route prefix (default <c>/signup</c>).</param>
    /// <returns>The group's convention builder, to chain rate limiting, tags or policies.</returns>
    /// <exception cref="InvalidOperationException">
    /// <c>AddOtpSignup&lt;TForm&gt;()</c> was not called, was called with another form type, or no
    /// completion (<c>AddIdentityUsers</c>, <c>CompleteWith</c>) was registered.
    /// </exception>
    public static RouteGroupBuilder MapOtpSignup<TForm>(this IEndpointRouteBuilder endpoints, string prefix = "/signup")
        where TForm : OtpSignupForm
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var registered = endpoints.ServiceProvider.GetService<OtpSignupFormType>()
            ?? throw new InvalidOperationException($"Call services.AddOtpSignup<{typeof(TForm).Name}>() before app.MapOtpSignup<{typeof(TForm).Name}>().");
        if (registered.Type != typeof(TForm))
        {
            throw new InvalidOperationException($"The signup form registered is {registered.Type.Name} (services.AddOtpSignup<{registered.Type.Name}>()): map it with app.MapOtpSignup<{registered.Type.Name}>(), not MapOtpSignup<{typeof(TForm).Name}>().");
        }

        if (endpoints.ServiceProvider.GetService<IServiceProviderIsService>() is { } isService && !isService.IsService(typeof(IOtpSignupCompletion<TForm>)))
        {
            throw new InvalidOperationException($"MapOtpSignup needs an IOtpSignupCompletion<{typeof(TForm).Name}>: call AddIdentityUsers<TUser>() or CompleteWith<THandler>() on the signup builder.");
        }

        var group = endpoints.MapGroup(prefix).WithTags("OtpSignup").DisableAntiforgery();
        group.AddEndpointFilter(DependencyFaultFilter);

        group.MapPost("/start", StartAsync<TForm>).WithName(prefix.Trim('/') + ".start")
            .Produces<OtpSendResponse>(StatusCodes.Status202Accepted).Produces<OtpVerifyResponse>().ProducesProblem(400).ProducesProblem(409).ProducesProblem(413).ProducesProblem(429).ProducesProblem(503);
        group.MapPost("/resend", ResendAsync).WithName(prefix.Trim('/') + ".resend")
            .Produces<OtpSendResponse>(StatusCodes.Status202Accepted).ProducesProblem(400).ProducesProblem(429).ProducesProblem(503);
        group.MapPost("/verify", VerifyAsync<TForm>).WithName(prefix.Trim('/') + ".verify")
            .Produces<OtpVerifyResponse>().ProducesProblem(400).ProducesProblem(409).ProducesProblem(503);
        return group;
    }

    private static async Task<Results<Accepted<OtpSendResponse>, Ok<OtpVerifyResponse>, ProblemHttpResult>> StartAsync<TForm>(HttpContext context, OtpEngine engine, OtpPayloadProtector protector, Microsoft.Extensions.Options.IOptionsMonitor<OtpVerificationOptions> options, Microsoft.Extensions.Options.IOptions<OtpEndpointOptions> endpointOptions, string? useCookies)
        where TForm : OtpSignupForm
    {
        // A client this instance already saw refused (its hourly limit used up) is answered before
        // its body is read or validated: a flood from one client costs little more than a bare request.
        if (engine.KnownClientRefusal(OtpPurpose.Signup, endpointOptions.Value.ClientKey(context)) is { } known)
        {
            return OtpProblems.FromOutcome(context, known.Outcome, known.RetryAfter);
        }

        var (form, problem) = await OtpRequestReader.ReadAsync<TForm>(context.Request).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        var withProof = !string.IsNullOrEmpty(form!.PhoneProof);
        var cookies = false;
        if (withProof && !string.IsNullOrEmpty(useCookies) && !bool.TryParse(useCookies, out cookies))
        {
            return OtpProblems.Validation("useCookies", OtpRequestLocalization.Text(context, "Validation.UseCookies"));
        }

        // Resolved only once the client is not known to be refused and the body is JSON: the
        // completion is scoped and usually drags in the user database (Identity's UserManager,
        // an EF Core DbContext), which a refused or malformed request never needs.
        var completion = context.RequestServices.GetRequiredService<IOtpSignupCompletion<TForm>>();
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var destinations = ValidateSignupForm(context, form!, errors, context.RequestServices.GetRequiredService<IOtpPhoneNumbers>(), engine, withProof);
        if (!errors.ContainsKey("password"))
        {
            // The app's policy (the password rules, the user store's rules for the address) is
            // checked even when other fields are wrong, so every error shows at once.
            foreach (var (field, messages) in await completion.ValidateAsync(form!, context.RequestAborted).ConfigureAwait(false))
            {
                errors[field] = messages;
            }
        }

        if (errors.Count > 0)
        {
            return OtpProblems.Validation(errors);
        }

        if (withProof)
        {
            // Verify first, register after: the phone was proven by /phone-verification; no code.
            return await StartWithPhoneProofAsync(context, form, cookies).ConfigureAwait(false);
        }

        // The entry is keyed by the email, or by the phone when the form has no email (a phone signup).
        var email = form.Email ?? form.Phone!;

        // Only when the app chose to reveal accounts is the user store asked at start. Otherwise a
        // registered address gets a real code like any other, and only a right code (its owner)
        // learns at verify that the account exists. The address asked about is the one the code
        // goes to first, which becomes the account's identity.
        if (options.CurrentValue.RevealExistingAccounts && await completion.AccountExistsAsync(destinations[0].Address, context.RequestAborted).ConfigureAwait(false))
        {
            return OtpProblems.EmailTaken();
        }

        var result = await engine.StartAsync(
            new OtpStartRequest
            {
                Purpose = OtpPurpose.Signup,
                Address = email,
                Destinations = destinations,
                DeviceId = form.DeviceId,
                Payload = protector.Protect(OtpPurpose.Signup, form),
                ClientKey = endpointOptions.Value.ClientKey(context),
                Culture = OtpRequestLocalization.MessageCulture,
                WebOtpHost = OtpRequestLocalization.WebOtpHost(context),
            },
            context.RequestAborted).ConfigureAwait(false);
        return SendAnswer(context, result) switch
        {
            { Result: Accepted<OtpSendResponse> accepted } => accepted,
            { Result: ProblemHttpResult refused } => refused,
            _ => OtpProblems.Unavailable(),
        };
    }

    private static async Task<Results<Accepted<OtpSendResponse>, ProblemHttpResult>> ResendAsync(HttpContext context, OtpEngine engine, Microsoft.Extensions.Options.IOptions<OtpEndpointOptions> endpointOptions)
    {
        // A client this instance already saw refused (its hourly limit used up) is answered before
        // its body is read or validated: a flood from one client costs little more than a bare request.
        if (engine.KnownClientRefusal(OtpPurpose.Signup, endpointOptions.Value.ClientKey(context)) is { } known)
        {
            return SendAnswer(context, known);
        }

        var (request, problem) = await OtpRequestReader.ReadAsync<OtpAddressRequest>(context.Request).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var email = ValidateAddress(context, request!.Email, request.Phone, context.RequestServices.GetRequiredService<IOtpPhoneNumbers>(), errors)?.Address;
        if (errors.Count > 0)
        {
            return OtpProblems.Validation(errors);
        }

        var resend = new OtpResendRequest
        {
            Purpose = OtpPurpose.Signup,
            Address = email!,
            ClientKey = endpointOptions.Value.ClientKey(context),
            Culture = OtpRequestLocalization.MessageCulture,
            WebOtpHost = OtpRequestLocalization.WebOtpHost(context),
        };
        return SendAnswer(context, await engine.ResendAsync(resend, context.RequestAborted).ConfigureAwait(false));
    }

    private static async Task<Results<Ok<OtpVerifyResponse>, ProblemHttpResult>> VerifyAsync<TForm>(
        HttpContext context,
        OtpEngine engine,
        OtpPayloadProtector protector,
        ILoggerFactory loggerFactory,
        OtpVerification.Diagnostics.OtpMetrics metrics,
        string? useCookies)
        where TForm : OtpSignupForm
    {
        // Parsed here, not bound as bool?: a bad value must be a 400 validation, not a framework binding failure.
        var cookies = false;
        if (!string.IsNullOrEmpty(useCookies) && !bool.TryParse(useCookies, out cookies))
        {
            return OtpProblems.Validation("useCookies", OtpRequestLocalization.Text(context, "Validation.UseCookies"));
        }

        var (request, problem) = await OtpRequestReader.ReadAsync<OtpVerifyRequest>(context.Request).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var email = ValidateAddress(context, request!.Email, request.Phone, context.RequestServices.GetRequiredService<IOtpPhoneNumbers>(), errors)?.Address;
        ValidateVerify(context, request.FlowId, request.Code, request.DeviceId, errors);
        if (errors.Count > 0)
        {
            return OtpProblems.Validation(errors);
        }

        // From the store call on, the client's disconnect is ignored: a consumed entry must end in
        // a user or be put back (the engine and the completion run with CancellationToken.None).
        var result = await engine.VerifyAsync(OtpPurpose.Signup, email!, request.FlowId!, request.Code!, request.DeviceId, context.RequestAborted).ConfigureAwait(false);
        if (result.Outcome != OtpOutcome.Verified || result.Registration is not { } registration)
        {
            return OtpProblems.FromOutcome(context, result.Outcome, TimeSpan.Zero, result.AttemptsRemaining);
        }

        var logger = loggerFactory.CreateLogger("OtpVerification.AspNetCore.Signup");
        var form = protector.Unprotect<TForm>(OtpPurpose.Signup, registration.Payload);
        if (form is null)
        {
            Log.PayloadUnreadable(logger, OtpAddress.Mask(email));
            metrics.PayloadUnreadable(OtpPurpose.Signup);
            await engine.RestoreAsync(registration, CancellationToken.None).ConfigureAwait(false);
            return OtpProblems.Unavailable();
        }

        // The form as it was started, never the address of this request: an entry is found by
        // its canonical mailbox, so another alias of it (ana@ for ana+m@) reaches the same
        // entry, but only the address the code went to has been proven.
        return await CompleteSignupAsync(context, form, registration.DeliveredTo, cookies, () => engine.RestoreAsync(registration, CancellationToken.None)).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates the user of a form whose <paramref name="verified"/> address was proven and signs it
    /// in. A fault of the user database is a 503 after <paramref name="undo"/> (the code put back).
    /// </summary>
    private static async Task<Results<Ok<OtpVerifyResponse>, ProblemHttpResult>> CompleteSignupAsync<TForm>(HttpContext context, TForm form, OtpDestination verified, bool cookies, Func<ValueTask<bool>>? undo)
        where TForm : OtpSignupForm
    {
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("OtpVerification.AspNetCore.Signup");
        var signIn = context.RequestServices.GetRequiredService<OtpSignIn>();
        var email = verified.Address;
        OtpCompletionResult completed;
        try
        {
            // Resolved only now: the completion is scoped and usually drags in the user database
            // (Identity's UserManager, an EF Core DbContext), which a wrong code never needs.
            var completion = context.RequestServices.GetRequiredService<IOtpSignupCompletion<TForm>>();
            completed = await completion.CompleteAsync(form, verified, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A fault of the user database is a 503; the code is put back so the user can retry.
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            Log.CompletionFailed(logger, OtpAddress.Mask(email), ex.GetType().Name);
            if (undo is not null)
            {
                await undo().ConfigureAwait(false);
            }

            return OtpProblems.Unavailable();
        }

        if (completed.EmailTaken)
        {
            return OtpProblems.EmailTaken();
        }

        if (!completed.Succeeded)
        {
            return OtpProblems.Validation(completed.Errors);
        }

        // Only the proven address is named: a phone signup's form email was never proven (and is not stored).
        var phone = verified.Channel == OtpChannel.Sms ? verified.Address : null;
        var verifiedEmail = verified.Channel == OtpChannel.Email ? form.Email : null;
        var response = new OtpVerifyResponse { UserId = completed.UserId!, Email = verifiedEmail, Phone = phone };
        if (completed.Principal is { } principal)
        {
            var tokens = await signIn.SignInAsync(context, principal, cookies).ConfigureAwait(false);
            if (tokens is { } t)
            {
                response = new OtpVerifyResponse { UserId = completed.UserId!, Email = verifiedEmail, Phone = phone, TokenType = t.TokenType, AccessToken = t.AccessToken, ExpiresIn = t.ExpiresIn, RefreshToken = t.RefreshToken };
            }
        }

        Log.SignupCompleted(logger, OtpAddress.Mask(email));

        // Tokens (or a fresh auth cookie) must never be stored by a cache (RFC 6749 §5.1).
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.Pragma = "no-cache";
        return TypedResults.Ok(response);
    }

    /// <summary>Normalises the form's addresses in place and returns where to send the code.</summary>
    private static List<OtpDestination> ValidateSignupForm(HttpContext http, OtpSignupForm form, Dictionary<string, string[]> errors, IOtpPhoneNumbers phones, OtpEngine engine, bool withProof = false)
    {
        string T(string key, params object?[] args) => OtpRequestLocalization.Text(http, key, args);
        var texts = http.RequestServices.GetRequiredService<OtpTexts>();
        var requestedChannel = string.IsNullOrWhiteSpace(form.Channel) ? "email" : form.Channel.Trim().ToLowerInvariant();

        // A phone signup (channel sms, or a phone proof) may leave the email out: the phone is the identity.
        var emailOptional = (withProof || requestedChannel == "sms") && string.IsNullOrWhiteSpace(form.Email);
        var destinations = new List<OtpDestination>(2);
        var results = new List<ValidationResult>();
        if (!FormValidation.TryValidate(form, results))
        {
            foreach (var result in results)
            {
                foreach (var member in result.MemberNames.DefaultIfEmpty("body"))
                {
                    var field = member.Length > 0 ? char.ToLowerInvariant(member[0]) + member[1..] : "body";

                    // The library's own attribute has its key; the app's DataAnnotations messages are
                    // looked up as keys themselves (ASP.NET Core MVC's convention), in the app's texts.
                    var message = field == "deviceId" ? T("Validation.DeviceIdTooLong", MaxDeviceIdLength)
                        : result.ErrorMessage is { } text ? texts.Find(text, System.Globalization.CultureInfo.CurrentUICulture) ?? text
                        : T("Validation.Invalid");
                    errors[field] = [.. errors.GetValueOrDefault(field, []), message];
                }
            }
        }

        string? email = null;
        if (emailOptional)
        {
            form.Email = null;
        }
        else if (!OtpAddress.TryNormalizeEmail(form.Email, out email))
        {
            errors["email"] = [T(string.IsNullOrWhiteSpace(form.Email) ? "Validation.EmailRequired" : "Validation.EmailInvalid")];
        }
        else
        {
            form.Email = email;
        }

        if (string.IsNullOrEmpty(form.Password))
        {
            errors["password"] = [T("Validation.PasswordRequired")];
        }
        else if (form.Password.Length > MaxPasswordLength)
        {
            errors["password"] = [T("Validation.PasswordTooLong", MaxPasswordLength)];
        }

        string? phone = null;
        if (!string.IsNullOrWhiteSpace(form.Phone))
        {
            if (phones.TryNormalize(form.Phone, out phone))
            {
                form.Phone = phone;
                if (!phones.AllowsSms(phone))
                {
                    errors["phone"] = [T("Validation.PhoneNoSms")];
                }
            }
            else
            {
                errors["phone"] = [T("Validation.PhoneInvalid")];
            }
        }
        else
        {
            form.Phone = null;
        }

        if (withProof)
        {
            // No code is sent: the channel does not matter, the proven phone does.
            if (string.IsNullOrWhiteSpace(form.Phone) && !errors.ContainsKey("phone"))
            {
                errors["phone"] = [T("Validation.ProofPhoneRequired")];
            }

            if (string.IsNullOrWhiteSpace(form.DeviceId) && !errors.ContainsKey("deviceId"))
            {
                errors["deviceId"] = [T("Validation.ProofDeviceRequired")];
            }

            form.Channel = "sms";
            return errors.Count > 0 ? destinations : [new OtpDestination(OtpChannel.Sms, phone!)];
        }

        var channel = requestedChannel;
        if (channel is not ("email" or "sms"))
        {
            errors["channel"] = [T("Validation.ChannelInvalid")];
        }
        else if (!engine.HasSender(channel == "sms" ? OtpChannel.Sms : OtpChannel.Email))
        {
            // A channel without a sender is not offered (the development outbox exists only in Development).
            errors["channel"] = [T("Validation.ChannelUnavailable", channel)];
        }
        else if (channel == "sms" && string.IsNullOrWhiteSpace(form.Phone) && !errors.ContainsKey("phone"))
        {
            errors["phone"] = [T("Validation.PhoneRequiredForSms")];
        }

        form.Channel = channel;
        if (errors.Count > 0)
        {
            return destinations;
        }

        // The preferred channel first; the other address, if any and if its channel has a sender, is the fallback.
        if (channel == "sms")
        {
            destinations.Add(new OtpDestination(OtpChannel.Sms, phone!));
            if (email is not null && engine.HasSender(OtpChannel.Email))
            {
                destinations.Add(new OtpDestination(OtpChannel.Email, email!));
            }
        }
        else
        {
            destinations.Add(new OtpDestination(OtpChannel.Email, email!));
            if (phone is not null && engine.HasSender(OtpChannel.Sms))
            {
                destinations.Add(new OtpDestination(OtpChannel.Sms, phone));
            }
        }

        return destinations;
    }

    private static string? ValidateVerify(HttpContext http, string? rawEmail, string? flowId, string? code, string? deviceId, Dictionary<string, string[]> errors)
    {
        string T(string key, params object?[] args) => OtpRequestLocalization.Text(http, key, args);
        if (!OtpAddress.TryNormalizeEmail(rawEmail, out var email))
        {
            errors["email"] = [T(string.IsNullOrWhiteSpace(rawEmail) ? "Validation.EmailRequired" : "Validation.EmailInvalid")];
        }

        ValidateVerify(http, flowId, code, deviceId, errors);
        return email;
    }

    /// <summary>
    /// The address of a request that names an account or flow by <c>email</c> or by <c>phone</c>,
    /// normalised, with its channel; <see langword="null"/> with an error. The email wins when both
    /// are sent, as a signup with both is keyed by its email.
    /// </summary>
    private static OtpDestination? ValidateAddress(HttpContext http, string? rawEmail, string? rawPhone, IOtpPhoneNumbers phones, Dictionary<string, string[]> errors)
    {
        string T(string key, params object?[] args) => OtpRequestLocalization.Text(http, key, args);
        var hasEmail = !string.IsNullOrWhiteSpace(rawEmail);
        var hasPhone = !string.IsNullOrWhiteSpace(rawPhone);
        if (hasPhone && !hasEmail)
        {
            if (phones.TryNormalize(rawPhone!, out var phone))
            {
                return new OtpDestination(OtpChannel.Sms, phone);
            }

            errors["phone"] = [T("Validation.PhoneInvalid")];
            return null;
        }

        if (OtpAddress.TryNormalizeEmail(rawEmail, out var email))
        {
            return new OtpDestination(OtpChannel.Email, email);
        }

        errors["email"] = [T(hasEmail ? "Validation.EmailInvalid" : "Validation.EmailOrPhoneRequired")];
        return null;
    }

    private static void ValidateVerify(HttpContext http, string? flowId, string? code, string? deviceId, Dictionary<string, string[]> errors)
    {
        string T(string key, params object?[] args) => OtpRequestLocalization.Text(http, key, args);
        if (string.IsNullOrWhiteSpace(flowId))
        {
            errors["flowId"] = [T("Validation.FlowIdRequired")];
        }
        else if (flowId.Length > MaxFlowIdLength)
        {
            errors["flowId"] = [T("Validation.FlowIdTooLong", MaxFlowIdLength)];
        }

        if (string.IsNullOrWhiteSpace(code))
        {
            errors["code"] = [T("Validation.CodeRequired")];
        }
        else if (code.Length > MaxCodeLength)
        {
            errors["code"] = [T("Validation.CodeTooLong", MaxCodeLength)];
        }

        if (deviceId is { Length: > MaxDeviceIdLength })
        {
            errors["deviceId"] = [T("Validation.DeviceIdTooLong", MaxDeviceIdLength)];
        }
    }

    private static Results<Accepted<OtpSendResponse>, ProblemHttpResult> SendAnswer(HttpContext context, OtpSendResult result)
        => result.Outcome == OtpOutcome.Accepted
            ? TypedResults.Accepted((string?)null, new OtpSendResponse(Seconds(result.ExpiresIn), Seconds(result.ResendAfter), result.FlowId))
            : OtpProblems.FromOutcome(context, result.Outcome, result.RetryAfter);

    private static long Seconds(TimeSpan value) => Math.Max(0L, (long)Math.Ceiling(value.TotalSeconds));

    /// <summary>
    /// The filter of every OtpVerification group: runs the endpoint in the request's language
    /// (<see cref="OtpRequestLocalization"/>: problem titles, validation messages, the message sent),
    /// turns a dependency fault that escaped a handler into 503, and a framework body error into its 4xx.
    /// </summary>
    private static ValueTask<object?> DependencyFaultFilter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        => OtpRequestLocalization.RunLocalizedAsync(context.HttpContext, () => FaultsAsProblemsAsync(context, next));

    private static async ValueTask<object?> FaultsAsProblemsAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            var result = await next(context).ConfigureAwait(false);
            if ((result is INestedHttpResult nested ? nested.Result : result) is ProblemHttpResult { StatusCode: StatusCodes.Status503ServiceUnavailable })
            {
                SetRetryAfter(context.HttpContext);
            }

            return result;
        }
        catch (OtpVerification.Stores.OtpStoreUnavailableException)
        {
            SetRetryAfter(context.HttpContext);
            return OtpProblems.Unavailable();
        }
        catch (OtpDeliveryException)
        {
            SetRetryAfter(context.HttpContext);
            return OtpProblems.Unavailable();
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return OtpProblems.PayloadTooLarge();
        }
        catch (BadHttpRequestException)
        {
            return OtpProblems.Validation("body", OtpRequestLocalization.Text(context.HttpContext, "Validation.BadRequest"));
        }
    }

    private static void SetRetryAfter(HttpContext context)
        => context.Response.Headers.RetryAfter = OtpProblems.UnavailableRetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, EventName = "OtpSignupCompleted", Level = LogLevel.Information, Message = "Signup completed for {MaskedAddress}.")]
        public static partial void SignupCompleted(ILogger logger, string maskedAddress);

        [LoggerMessage(EventId = 2002, EventName = "OtpCompletionFailed", Level = LogLevel.Error, Message = "Completing the signup of {MaskedAddress} failed ({ExceptionType}); the pending registration was put back.")]
        public static partial void CompletionFailed(ILogger logger, string maskedAddress, string exceptionType);

        [LoggerMessage(EventId = 2003, EventName = "OtpPayloadUnreadable", Level = LogLevel.Error, Message = "The pending payload of {MaskedAddress} cannot be decrypted: the Data Protection key ring is not shared by every instance.")]
        public static partial void PayloadUnreadable(ILogger logger, string maskedAddress);

        [LoggerMessage(EventId = 2004, EventName = "OtpPasswordResetCompleted", Level = LogLevel.Information, Message = "Password reset completed for {MaskedAddress}.")]
        public static partial void PasswordResetCompleted(ILogger logger, string maskedAddress);

        [LoggerMessage(EventId = 2005, EventName = "OtpPasswordResetFailed", Level = LogLevel.Error, Message = "Resetting the password of {MaskedAddress} failed ({ExceptionType}).")]
        public static partial void PasswordResetFailed(ILogger logger, string maskedAddress, string exceptionType);

        [LoggerMessage(EventId = 2006, EventName = "OtpSignedIn", Level = LogLevel.Information, Message = "Signed in by code: {MaskedAddress}.")]
        public static partial void SignedIn(ILogger logger, string maskedAddress);

        [LoggerMessage(EventId = 2007, EventName = "OtpSignInFailed", Level = LogLevel.Error, Message = "Signing in {MaskedAddress} failed ({ExceptionType}); the code was put back.")]
        public static partial void SignInFailed(ILogger logger, string maskedAddress, string exceptionType);
    }
}
