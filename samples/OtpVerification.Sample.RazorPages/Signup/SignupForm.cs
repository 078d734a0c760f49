using System.ComponentModel.DataAnnotations;
using OtpVerification.AspNetCore;

namespace OtpVerification.Sample.RazorPages.Signup;

/// <summary>The signup form: the library's fields (email, password) and a name. Kept pending, encrypted, until the code is verified.</summary>
public sealed class SignupForm : OtpSignupForm
{
    /// <summary>The display name.</summary>
    [Required(ErrorMessage = "Enter your name.")]
    [StringLength(100, ErrorMessage = "The name must be at most 100 characters.")]
    public string? Name { get; set; }
}
