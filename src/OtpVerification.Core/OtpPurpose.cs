namespace OtpVerification;

/// <summary>
/// What a one-time code is for. A pending entry is keyed by purpose and normalised address, so a
/// code issued for one purpose never verifies another, and send limits are counted per purpose.
/// </summary>
public enum OtpPurpose
{
    /// <summary>Confirming the email or phone of a new account before it is created.</summary>
    Signup = 0,

    /// <summary>Proving control of a registered address before its password is replaced.</summary>
    PasswordReset = 1,

    /// <summary>Passwordless sign-in with a code, for a registered email or phone.</summary>
    SignIn = 2,

    /// <summary>Proving a phone number before any account exists (verify first, register after): a right code earns a single-use phone proof.</summary>
    PhoneVerification = 3,
}

/// <summary>The channel a code travels on.</summary>
public enum OtpChannel
{
    /// <summary>An email message.</summary>
    Email = 0,

    /// <summary>A text message to a phone number in E.164 form.</summary>
    Sms = 1,
}

/// <summary>One place a code can be sent to: a channel and the normalised address on it.</summary>
/// <param name="Channel">The channel.</param>
/// <param name="Address">The normalised address (a lower-case email, or an E.164 phone number).</param>
public readonly record struct OtpDestination(OtpChannel Channel, string Address);
