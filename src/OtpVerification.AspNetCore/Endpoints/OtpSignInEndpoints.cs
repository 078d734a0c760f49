using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OtpVerification;
using OtpVerification.AspNetCore;

namespace Microsoft.AspNetCore.Routing;

public static partial class OtpEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps passwordless sign-in: <c>POST {prefix}/start</c> (<c>email</c> or <c>phone</c>; always
    /// 202 or 429, whether or not the account exists; a code only goes to a registered address)
    /// and <c>POST {prefix}/verify</c> (<c>?useCookies=true</c> optional: 200 with bearer tokens or
    /// an auth cookie for the existing user; the verify errors otherwise, alike for unknown
    /// addresses). A locked-out user is answered as for a wrong code.
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="prefix">The route prefix (default <c>/signin/code</c>).</param>
    /// <returns>The group's convention builder.</returns>
    /// <exception cref="InvalidOperationException">No <see cref="IOtpAccounts"/> is registered (call <c>AddIdentityUsers&lt;TUser&gt;()</c> or register one).</exception>
    public static RouteGroupBuilder MapOtpSignIn(this IEndpointRouteBuilder endpoints, string prefix = "/signin/code")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<IServiceProviderIsService>() is { } isService && !isService.IsService(typeof(IOtpAccounts)))
        {
            throw new InvalidOperationException("MapOtpSignIn needs an IOtpAccounts: call AddIdentityUsers<TUser>() on the signup builder, or register your own.");
        }

        var group = endpoints.MapGroup(prefix).WithTags("OtpSignIn").DisableAntiforgery();
        group.AddEndpointFilter(DependencyFaultFilter);
        group.MapPost("/start", SignInStartAsync).WithName(prefix.Trim('/') + ".start")
            .Produces<OtpSendResponse>(StatusCodes.Status202Accepted).ProducesProblem(400).ProducesProblem(413).ProducesProblem(429).ProducesProblem(503);
        group.MapPost("/verify", SignInVerifyAsync).WithName(prefix.Trim('/') + ".verify")
            .Produces<OtpVerifyResponse>().ProducesProblem(400).ProducesProblem(413).ProducesProblem(503);
        return group;
    }

    private static async Task<Results<Accepted<OtpSendResponse>, ProblemHttpResult>> SignInStartAsync(HttpContext context, OtpEngine engine, IOtpPhoneNumbers phones, Microsoft.Extensions.Options.IOptions<OtpEndpointOptions> endpointOptions)
    {
        // A client this instance already saw refused (its hourly limit used up) is answered before
        // its body is read or validated: a flood from one client costs little more than a bare request.
        if (engine.KnownClientRefusal(OtpPurpose.SignIn, endpointOptions.Value.ClientKey(context)) is { } known)
        {
            return SendAnswer(context, known);
        }

        var (request, problem) = await OtpRequestReader.ReadAsync<OtpAddressRequest>(context.Request).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var address = ValidateAddress(context, request!.Email, request.Phone, phones, errors);
        if (request.DeviceId is { Length: > MaxDeviceIdLength })
        {
            errors["deviceId"] = [OtpRequestLocalization.Text(context, "Validation.DeviceIdTooLong", MaxDeviceIdLength)];
        }

        if (address is { } a && !engine.HasSender(a.Channel))
        {
            // Whether a channel is offered depends on the app, never on the account.
            errors[a.Channel == OtpChannel.Sms ? "phone" : "email"] = [OtpRequestLocalization.Text(context, "Validation.ChannelUnavailable", OtpVerification.Senders.OtpNames.Channel(a.Channel))];
        }

        if (errors.Count > 0)
        {
            return OtpProblems.Validation(errors);
        }

        var destination = address!.Value;
        // Resolved only now (scoped, usually the user database): a refused or malformed request never needs it.
        var accounts = context.RequestServices.GetRequiredService<IOtpAccounts>();
        var exists = await accounts.ExistsAsync(destination, context.RequestAborted).ConfigureAwait(false);
        var result = await engine.StartAsync(
            new OtpStartRequest
            {
                Purpose = OtpPurpose.SignIn,
                Address = destination.Address,
                Destinations = [destination],
                DeviceId = request.DeviceId,
                Decoy = !exists,
                ClientKey = endpointOptions.Value.ClientKey(context),
                Culture = OtpRequestLocalization.MessageCulture,
                WebOtpHost = OtpRequestLocalization.WebOtpHost(context),
            },
            context.RequestAborted).ConfigureAwait(false);
        return SendAnswer(context, result);
    }

    private static async Task<Results<Ok<OtpVerifyResponse>, ProblemHttpResult>> SignInVerifyAsync(HttpContext context, OtpEngine engine, IOtpPhoneNumbers phones, OtpSignIn signIn, ILoggerFactory loggerFactory, string? useCookies)
    {
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
        var address = ValidateAddress(context, request!.Email, request.Phone, phones, errors);
        ValidateVerify(context, request.FlowId, request.Code, request.DeviceId, errors);
        if (errors.Count > 0)
        {
            return OtpProblems.Validation(errors);
        }

        var result = await engine.VerifyAsync(OtpPurpose.SignIn, address!.Value.Address, request.FlowId!, request.Code!, request.DeviceId, context.RequestAborted).ConfigureAwait(false);
        if (result.Outcome != OtpOutcome.Verified || result.Registration is not { } registration)
        {
            return OtpProblems.FromOutcome(context, result.Outcome, TimeSpan.Zero, result.AttemptsRemaining);
        }

        var logger = loggerFactory.CreateLogger("OtpVerification.AspNetCore.SignIn");
        OtpAccountSignIn? account;
        try
        {
            // Resolved only now: a wrong code never needs the user database. The address the code
            // went to, never the one of this request (another alias reaches the same entry).
            var accounts = context.RequestServices.GetRequiredService<IOtpAccounts>();
            account = await accounts.SignInAsync(registration.DeliveredTo, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A fault of the user database is a 503; the code is put back so the user can retry.
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            Log.SignInFailed(logger, OtpAddress.Mask(registration.DeliveredTo.Address), ex.GetType().Name);
            await engine.RestoreAsync(registration, CancellationToken.None).ConfigureAwait(false);
            return OtpProblems.Unavailable();
        }

        if (account is null)
        {
            // Locked out, or gone since start: answered as a wrong code (the code is used up), so
            // neither a lockout nor a deletion is announced to whoever holds the code. The count is
            // the one a wrong guess would report: the registration carries it from before this guess.
            return OtpProblems.InvalidCode(Math.Max(0, registration.AttemptsRemaining - 1));
        }

        var response = new OtpVerifyResponse { UserId = account.UserId, Email = account.Email, Phone = account.Phone };
        if (await signIn.SignInAsync(context, account.Principal, cookies).ConfigureAwait(false) is { } t)
        {
            response = new OtpVerifyResponse { UserId = account.UserId, Email = account.Email, Phone = account.Phone, TokenType = t.TokenType, AccessToken = t.AccessToken, ExpiresIn = t.ExpiresIn, RefreshToken = t.RefreshToken };
        }

        Log.SignedIn(logger, OtpAddress.Mask(registration.DeliveredTo.Address));
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.Pragma = "no-cache";
        return TypedResults.Ok(response);
    }
}
