using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using OtpVerification.AspNetCore;
using OtpVerification.Sample.RazorPages.Signup;

namespace OtpVerification.Sample.RazorPages.Pages;

/// <summary>The signup form: validates it, stores it pending through the engine and sends the code.</summary>
/// <param name="engine">The verification engine.</param>
/// <param name="completion">The app's completion (its policy checks run before anything is stored).</param>
/// <param name="flow">The browser's flow cookie and the pending form's protection.</param>
public sealed class IndexModel(OtpEngine engine, IOtpSignupCompletion<SignupForm> completion, SignupFlow flow) : PageModel
{
    /// <summary>The form.</summary>
    [BindProperty]
    public SignupInput Input { get; set; } = new();

    /// <summary>Shows the form.</summary>
    public void OnGet()
    {
    }

    /// <summary>Starts a verification: 202 in the JSON API, a redirect to the code page here.</summary>
    /// <returns>The code page, or this page with the errors.</returns>
    public async Task<IActionResult> OnPostAsync()
    {
        if (!ModelState.IsValid)
        {
            return Page();
        }

        if (!OtpAddress.TryNormalizeEmail(Input.Email, out var email))
        {
            ModelState.AddModelError("Input.Email", "Enter a valid email address.");
            return Page();
        }

        var form = new SignupForm { Email = email, Password = Input.Password, Name = Input.Name?.Trim() };
        foreach (var (field, messages) in await completion.ValidateAsync(form, HttpContext.RequestAborted))
        {
            foreach (var message in messages)
            {
                ModelState.AddModelError("Input." + char.ToUpperInvariant(field[0]) + field[1..], message);
            }
        }

        if (!ModelState.IsValid)
        {
            return Page();
        }

        var result = await engine.StartAsync(
            new OtpStartRequest
            {
                Purpose = OtpPurpose.Signup,
                Address = email,
                Destinations = [new OtpDestination(OtpChannel.Email, email)],
                Payload = flow.ProtectForm(form),
                ClientKey = HttpContext.Connection.RemoteIpAddress?.ToString(),
            },
            HttpContext.RequestAborted);
        switch (result.Outcome)
        {
            case OtpOutcome.Accepted:
                flow.Write(Response, email, result.FlowId!);
                return RedirectToPage("/Verify");
            case OtpOutcome.TooFrequent or OtpOutcome.RateLimited:
                ModelState.AddModelError(string.Empty, string.Create(CultureInfo.InvariantCulture, $"Too many codes were asked for this address. Try again in {Math.Ceiling(result.RetryAfter.TotalSeconds)} seconds."));
                return Page();
            default:
                ModelState.AddModelError(string.Empty, "We could not send a code just now. Try again shortly.");
                return Page();
        }
    }

    /// <summary>The fields of the signup form.</summary>
    public sealed class SignupInput
    {
        /// <summary>The name.</summary>
        [Required(ErrorMessage = "Enter your name.")]
        [StringLength(100)]
        public string? Name { get; set; }

        /// <summary>The email.</summary>
        [Required(ErrorMessage = "Enter your email address.")]
        [StringLength(254)]
        public string? Email { get; set; }

        /// <summary>The password.</summary>
        [Required(ErrorMessage = "Choose a password.")]
        [StringLength(512)]
        public string? Password { get; set; }
    }
}
