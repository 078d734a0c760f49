using System.Globalization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using OtpVerification.AspNetCore;
using OtpVerification.Sample.RazorPages.Signup;

namespace OtpVerification.Sample.RazorPages.Pages;

/// <summary>The code page: verifies the code for this browser's flow, creates the user through the completion and signs them in.</summary>
/// <param name="engine">The verification engine.</param>
/// <param name="completion">The app's completion: writes the user row.</param>
/// <param name="flow">The browser's flow cookie and the pending form's protection.</param>
/// <param name="logger">The logger.</param>
public sealed partial class VerifyModel(OtpEngine engine, IOtpSignupCompletion<SignupForm> completion, SignupFlow flow, ILogger<VerifyModel> logger) : PageModel
{
    /// <summary>The code typed.</summary>
    [BindProperty]
    public string? Code { get; set; }

    /// <summary>The address the code went to, masked.</summary>
    public string MaskedEmail { get; private set; } = string.Empty;

    /// <summary>A message after a resend.</summary>
    public string? Notice { get; private set; }

    /// <summary>Shows the page, or sends the browser back to the form when it started no flow.</summary>
    /// <returns>The page or a redirect.</returns>
    public IActionResult OnGet()
        => flow.Read(Request) is { } state ? Show(state) : RedirectToPage("/Index");

    /// <summary>Checks the code.</summary>
    /// <returns>The account page once signed in, or this page with the error.</returns>
    public async Task<IActionResult> OnPostAsync()
    {
        if (flow.Read(Request) is not { } state)
        {
            return RedirectToPage("/Index");
        }

        var code = Code?.Trim() ?? string.Empty;
        if (code.Length is 0 or > 10)
        {
            ModelState.AddModelError(string.Empty, "Enter the code from the email.");
            return Show(state);
        }

        var result = await engine.VerifyAsync(OtpPurpose.Signup, state.Email, state.FlowId, code, deviceId: null, HttpContext.RequestAborted);
        switch (result.Outcome)
        {
            case OtpOutcome.Verified:
                return await CompleteAsync(state, result.Registration!);
            case OtpOutcome.InvalidCode:
                ModelState.AddModelError(string.Empty, string.Create(CultureInfo.InvariantCulture, $"That code is not right. {result.AttemptsRemaining ?? 0} attempts left."));
                return Show(state);
            case OtpOutcome.CodeExpired:
                ModelState.AddModelError(string.Empty, "That code has expired. Ask for a new one.");
                return Show(state);
            case OtpOutcome.MaxAttempts:
                ModelState.AddModelError(string.Empty, "Too many wrong codes. Ask for a new one.");
                return Show(state);
            case OtpOutcome.FlowExpired:
                // Restarted elsewhere, used, or expired: this browser's flow is over.
                SignupFlow.Clear(Response);
                ModelState.AddModelError(string.Empty, "This signup is no longer current. Start again.");
                return Show(state);
            default:
                ModelState.AddModelError(string.Empty, "We could not check the code just now. Try again shortly.");
                return Show(state);
        }
    }

    /// <summary>Sends a new code (or the same one again, per <c>OtpSignup:Resend:Strategy</c>).</summary>
    /// <returns>This page with a notice.</returns>
    public async Task<IActionResult> OnPostResendAsync()
    {
        if (flow.Read(Request) is not { } state)
        {
            return RedirectToPage("/Index");
        }

        var result = await engine.ResendAsync(OtpPurpose.Signup, state.Email, HttpContext.Connection.RemoteIpAddress?.ToString(), HttpContext.RequestAborted);
        Notice = result.Outcome switch
        {
            OtpOutcome.Accepted => "We sent the code again.",
            OtpOutcome.TooFrequent or OtpOutcome.RateLimited => string.Create(CultureInfo.InvariantCulture, $"Wait {Math.Ceiling(result.RetryAfter.TotalSeconds)} seconds before asking again."),
            _ => "We could not send a code just now. Try again shortly.",
        };
        return Show(state);
    }

    private async Task<IActionResult> CompleteAsync(SignupFlow.State state, OtpVerifiedRegistration registration)
    {
        if (flow.UnprotectForm(registration.Payload.ToArray()) is not { } form)
        {
            await engine.RestoreAsync(registration, HttpContext.RequestAborted);
            ModelState.AddModelError(string.Empty, "We could not finish your signup just now. Try again shortly.");
            return Show(state);
        }

        OtpCompletionResult completed;
        try
        {
            completed = await completion.CompleteAsync(form, registration.DeliveredTo, HttpContext.RequestAborted);
        }
        catch (Exception ex) when (ex is Microsoft.EntityFrameworkCore.DbUpdateException or InvalidOperationException or System.Data.Common.DbException)
        {
            // The user database failed: the code stays usable for a retry.
            Log.CompletionFailed(logger, OtpAddress.Mask(state.Email), ex.GetType().Name);
            await engine.RestoreAsync(registration, CancellationToken.None);
            ModelState.AddModelError(string.Empty, "We could not finish your signup just now. Try again shortly.");
            return Show(state);
        }

        SignupFlow.Clear(Response);
        if (completed.EmailTaken)
        {
            ModelState.AddModelError(string.Empty, "This email is already registered. Sign in or reset your password.");
            return Show(state);
        }

        if (!completed.Succeeded || completed.Principal is null)
        {
            ModelState.AddModelError(string.Empty, "We could not create your account. Start again.");
            return Show(state);
        }

        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, completed.Principal);
        return RedirectToPage("/Account");
    }

    private PageResult Show(SignupFlow.State state)
    {
        MaskedEmail = OtpAddress.Mask(state.Email);
        return Page();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, EventName = "SignupCompletionFailed", Level = LogLevel.Error, Message = "Creating the user for {MaskedEmail} failed ({ExceptionType}); the code stays usable.")]
        public static partial void CompletionFailed(ILogger logger, string maskedEmail, string exceptionType);
    }
}
