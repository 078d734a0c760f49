namespace OtpVerification.Benchmarks.Fixtures;

/// <summary>A typical signup form: what the payload protector serialises and encrypts.</summary>
public sealed record SignupForm(string Name, string Email, string Password)
{
    public static SignupForm Typical { get; } = new("Ana Maria Rodrigues", "ana.maria.rodrigues@example.com", "correct horse battery staple 42!");
}
