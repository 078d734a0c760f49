using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OtpVerification;
using OtpVerification.AspNetCore;
using OtpVerification.Senders;

namespace Microsoft.AspNetCore.Routing;

public static partial class OtpEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>POST {prefix}/start</c> (always 202 or 429, whether or not the account exists; a
    /// code only goes to a registered address) and <c>POST {prefix}/complete</c> (204 when the
    /// code is right and the new password acceptable).
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="prefix">The route prefix (default <c>/password-reset</c>).</param>
    /// <returns>The group's convention builder.</returns>
    /// <exception cref="InvalidOperationException">No <see cref="IOtpPasswordReset"/> is registered (call <c>AddIdentityUsers&lt;TUser&gt;()</c> or register one).</exception>
    public static RouteGroupBuilder MapOtpPasswordReset(this IEndpointRouteBuilder endpoints, string prefix = "/password-reset")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        // Asked without building one (with Identity, that would build a UserManager and a DbContext at startup).
        var registered = endpoints.ServiceProvider.GetService<IServiceProviderIsService>() is { } isService
            ? isService.IsService(typeof(IOtpPasswordReset))
            : HasPasswordReset(endpoints.ServiceProvider);
        if (!registered)
        {
            throw new InvalidOperationException("MapOtpPasswordReset needs an IOtpPasswordReset: call AddIdentityUsers<TUser>() on the signup builder, or register your own.");
        }

        var group = endpoints.MapGroup(prefix).WithTags("OtpPasswordReset").DisableAntiforgery();
        group.AddEndpointFilter(DependencyFaultFilter);
        group.MapPost("/start", PasswordResetStartAsync).WithName(prefix.Trim('/') + ".start")
            .Produces<OtpSendResponse>(StatusCodes.Status202Accepted).ProducesProblem(400).ProducesProblem(429).ProducesProblem(503);
        group.MapPost("/complete", PasswordResetCompleteAsync).WithName(prefix.Trim('/') + ".complete")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(400).ProducesProblem(503);
        return group;
    }

    /// <summary>
    /// Maps <c>GET {pattern}?to=…</c>, listing the development outbox newest first, in the
    /// Development environment only; elsewhere nothing is mapped (the route answers 404).
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="pattern">The route (default <c>/dev/outbox</c>).</param>
    /// <returns>
    /// The group's convention builder, to chain <c>RequireAuthorization</c>, <c>RequireHost</c> and
    /// the like; outside Development the group is empty and conventions have nothing to apply to.
    /// </returns>
    public static RouteGroupBuilder MapOtpDevOutbox(this IEndpointRouteBuilder endpoints, string pattern = "/dev/outbox")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup(pattern).WithTags("Development").ExcludeFromDescription();
        var environment = endpoints.ServiceProvider.GetService<IHostEnvironment>();
        if (environment is not null && environment.IsDevelopment())
        {
            group.MapGet(string.Empty, (DevOutbox outbox, string? to) => TypedResults.Ok(outbox.List(to)));
        }

        return group;
    }

    private static bool HasPasswordReset(IServiceProvider services)
    {
        using var scope = services.CreateScope();
        return scope.ServiceProvider.GetService<IOtpPasswordReset>() is not null;
    }

    private static async Task<Results<Accepted<OtpSendResponse>, ProblemHttpResult>> PasswordResetStartAsync(HttpContext context, OtpEngine engine, Microsoft.Extensions.Options.IOptions<OtpEndpointOptions> endpointOptions)
    {
        // A client this instance already saw refused (its hourly limit used up) is answered before
        // its body is read or validated: a flood from one client costs little more than a bare request.
        if (engine.KnownClientRefusal(OtpPurpose.PasswordReset, endpointOptions.Value.ClientKey(context)) is { } known)
        {
            return SendAnswer(context, known);
        }

        var (request, problem) = await OtpRequestReader.ReadAsync<OtpAddressRequest>(context.Request).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (!OtpAddress.TryNormalizeEmail(request!.Email, out var email))
        {
            return OtpProblems.Validation("email", OtpRequestLocalization.Text(context, string.IsNullOrWhiteSpace(request.Email) ? "Validation.EmailRequired" : "Validation.EmailInvalid"));
        }

        // Resolved only now (scoped, usually the user database): a refused or malformed request never needs it.
        var reset = context.RequestServices.GetRequiredService<IOtpPasswordReset>();
        var exists = await reset.AccountExistsAsync(email, context.RequestAborted).ConfigureAwait(false);
        var result = await engine.StartAsync(
            new OtpStartRequest
            {
                Purpose = OtpPurpose.PasswordReset,
                Address = email,
                Destinations = [new OtpDestination(OtpChannel.Email, email)],
                Decoy = !exists,
                ClientKey = endpointOptions.Value.ClientKey(context),
                Culture = OtpRequestLocalization.MessageCulture,
            },
            context.RequestAborted).ConfigureAwait(false);
        return SendAnswer(context, result);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> PasswordResetCompleteAsync(HttpContext context, OtpEngine engine, IOtpPasswordReset reset, ILoggerFactory loggerFactory)
    {
        var (request, problem) = await OtpRequestReader.ReadAsync<OtpPasswordResetCompleteRequest>(context.Request).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var email = ValidateVerify(context, request!.Email, request.FlowId, request.Code, null, errors);
        if (string.IsNullOrEmpty(request.NewPassword))
        {
            errors["newPassword"] = [OtpRequestLocalization.Text(context, "Validation.NewPasswordRequired")];
        }
        else if (request.NewPassword.Length > MaxPasswordLength)
        {
            errors["newPassword"] = [OtpRequestLocalization.Text(context, "Validation.PasswordTooLong", MaxPasswordLength)];
        }

        if (errors.Count == 0)
        {
            // The policy is checked before the code is used, so a weak password does not burn it.
            foreach (var (field, messages) in await reset.ValidateAsync(email!, request.NewPassword!, context.RequestAborted).ConfigureAwait(false))
            {
                errors[field] = messages;
            }
        }

        if (errors.Count > 0)
        {
            return OtpProblems.Validation(errors);
        }

        var result = await engine.VerifyAsync(OtpPurpose.PasswordReset, email!, request.FlowId!, request.Code!, null, context.RequestAborted).ConfigureAwait(false);
        if (result.Outcome != OtpOutcome.Verified || result.Registration is not { } registration)
        {
            return OtpProblems.FromOutcome(context, result.Outcome, TimeSpan.Zero, result.AttemptsRemaining);
        }

        var logger = loggerFactory.CreateLogger("OtpVerification.AspNetCore.PasswordReset");
        bool done;
        try
        {
            // The address the code was mailed to, never the address of this request: another alias
            // of the mailbox reaches the same entry, but only the recipient has been proven.
            done = registration.DeliveredTo.Channel == OtpChannel.Email
                && await reset.ResetAsync(registration.DeliveredTo.Address, request.NewPassword!, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A fault of the user database is a 503; the code is put back so the user can retry.
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            Log.PasswordResetFailed(logger, OtpAddress.Mask(email), ex.GetType().Name);
            await engine.RestoreAsync(registration, CancellationToken.None).ConfigureAwait(false);
            return OtpProblems.Unavailable();
        }

        if (!done)
        {
            return OtpProblems.InvalidCode(null);
        }

        Log.PasswordResetCompleted(logger, OtpAddress.Mask(email));
        return TypedResults.NoContent();
    }
}
