using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;

namespace OtpVerification;

/// <summary>
/// The rules for codes, resends and pending registrations of every flow (signup, password reset,
/// sign-in), bound from the <c>OtpVerification</c> configuration section or the old
/// <c>OtpSignup</c> section, which keeps working: with both present, both are bound and the
/// <c>OtpVerification</c> value wins key by key. Validated at start-up; an invalid value stops the
/// app with a message that names the key as the app wrote it (the section it used). The key names
/// in these docs use the old section name; every key is the same under the new one.
/// </summary>
public sealed class OtpVerificationOptions
{
    /// <summary>The configuration section these options are bound from: <c>OtpVerification</c>.</summary>
    public const string SectionName = "OtpVerification";

    /// <summary>
    /// The section's former name, <c>OtpSignup</c>, still bound: a key given under both takes the
    /// <see cref="SectionName"/> value.
    /// </summary>
    public const string LegacySectionName = "OtpSignup";

    /// <summary>The code rules (<c>OtpSignup:Code</c>).</summary>
    [Required]
    [ValidateObjectMembers]
    public OtpCodeOptions Code { get; set; } = new();

    /// <summary>The resend rules (<c>OtpSignup:Resend</c>).</summary>
    [Required]
    [ValidateObjectMembers]
    public OtpResendOptions Resend { get; set; } = new();

    /// <summary>How long an unverified registration is kept at all (<c>OtpSignup:PendingLifetime</c>, default 30 minutes). A resend near the end keeps it until the new code expires.</summary>
    public TimeSpan PendingLifetime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// <see langword="true"/>: start answers 409 for a registered address. <see langword="false"/>
    /// (the default): it answers exactly as for a new one and sends a real code, which only the
    /// address's owner can read; a right code then gets 409 at verify.
    /// </summary>
    public bool RevealExistingAccounts { get; set; }

    /// <summary>The store kind the host wires up: <c>Memory</c> (default) or <c>Redis</c> (<c>OtpSignup:Store</c>).</summary>
    [RegularExpression("^(?i:memory|redis)$", ErrorMessage = "OtpSignup:Store must be 'Memory' or 'Redis'.")]
    public string Store { get; set; } = "Memory";

    /// <summary>How many limit records the default <see cref="MaxLimitRecords"/> allows per pending entry of <see cref="MaxPendingEntries"/>.</summary>
    public const int LimitRecordsPerPendingEntry = 8;

    /// <summary>
    /// The in-memory store's cap on pending registrations (<c>OtpSignup:MaxPendingEntries</c>,
    /// default 100,000: about 114 MB with the 281-byte typical protected form). When it is reached a
    /// new start evicts the registration nearest its expiry (its owner must start again); the
    /// send limits of the evicted address stay (<see cref="MaxLimitRecords"/>).
    /// </summary>
    [Range(1, 50_000_000, ErrorMessage = "OtpSignup:MaxPendingEntries must be between 1 and 50000000.")]
    public int MaxPendingEntries { get; set; } = 100_000;

    /// <summary>
    /// The in-memory store's cap on limit records (<c>OtpSignup:MaxLimitRecords</c>; unset: 8 ×
    /// <see cref="MaxPendingEntries"/>, so 800,000 at the defaults, at most about 420 MB): the send
    /// history of each address, client, phone number and the SMS budget, kept for the rolling hour
    /// and never evicted while it counts. At least <see cref="MaxPendingEntries"/> (each pending
    /// registration lives in its address's record). When it is reached new addresses and clients
    /// are refused (503) until records leave the hour.
    /// </summary>
    [Range(1, 400_000_000, ErrorMessage = "OtpSignup:MaxLimitRecords must be between 1 and 400000000.")]
    public int? MaxLimitRecords { get; set; }

    /// <summary>The cap on limit records in force: <see cref="MaxLimitRecords"/>, or 8 × <see cref="MaxPendingEntries"/> when it is unset.</summary>
    public int LimitRecordsCap => MaxLimitRecords ?? (int)Math.Min(400_000_000L, (long)MaxPendingEntries * LimitRecordsPerPendingEntry);

    /// <summary>Defences against abuse of the send endpoints (<c>OtpSignup:Abuse</c>).</summary>
    [Required]
    [ValidateObjectMembers]
    public OtpAbuseOptions Abuse { get; set; } = new();

    /// <summary>How messages are worded (<c>OtpSignup:Messages</c>).</summary>
    [Required]
    [ValidateObjectMembers]
    public OtpMessageOptions Messages { get; set; } = new();
}

/// <summary>Code rules: <c>OtpSignup:Code</c>.</summary>
public sealed class OtpCodeOptions
{
    /// <summary>Digits in a code, 4 to 10 (<c>OtpSignup:Code:Length</c>, default 6).</summary>
    [Range(4, 10, ErrorMessage = "OtpSignup:Code:Length must be between 4 and 10.")]
    public int Length { get; set; } = 6;

    /// <summary>How long a code is valid (<c>OtpSignup:Code:Lifetime</c>, default 10 minutes).</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Wrong guesses allowed per code before it is locked (<c>OtpSignup:Code:MaxAttempts</c>, default 5).</summary>
    [Range(1, 100, ErrorMessage = "OtpSignup:Code:MaxAttempts must be between 1 and 100.")]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>
    /// The secret key of the code hash, base64, at least 32 bytes (<c>OtpSignup:Code:HashKey</c>;
    /// make one with <c>openssl rand -base64 32</c>). Every instance that shares a store must share
    /// it, and with a shared (distributed) store it is required: a missing key stops the app at
    /// start-up. When unset with the in-memory store, each process draws a random key, which is
    /// right for a single instance only (a restart voids the codes in flight).
    /// </summary>
    public string? HashKey { get; set; }

    /// <summary>
    /// The key <see cref="HashKey"/> replaced, during a rotation (<c>OtpSignup:Code:PreviousHashKey</c>,
    /// same format). Codes hashed under it still verify while it is set, so rotating the key does
    /// not void the codes in flight; remove it once a code lifetime (<see cref="Lifetime"/>) has
    /// passed since every instance had the new key (a same-code resend keeps the code's expiry).
    /// Setting it requires <see cref="KeyNameKey"/>, so store key names survive the rotation.
    /// </summary>
    public string? PreviousHashKey { get; set; }

    /// <summary>
    /// The key from which the names of store entries are derived (<c>OtpSignup:Code:KeyNameKey</c>,
    /// same format; default: <see cref="HashKey"/>). Names must not change while entries exist, or
    /// those entries (and their send limits) become unreachable; so when you first rotate
    /// <see cref="HashKey"/>, set this to the old key (the value <see cref="PreviousHashKey"/> gets)
    /// and keep it, unchanged, through every later rotation.
    /// </summary>
    public string? KeyNameKey { get; set; }
}

/// <summary>Resend rules: <c>OtpSignup:Resend</c>.</summary>
public sealed class OtpResendOptions
{
    /// <summary>Minimum time between two codes sent to one address (<c>OtpSignup:Resend:Cooldown</c>, default 1 minute).</summary>
    public TimeSpan Cooldown { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Codes sent to one address in any 60 minutes, a rolling hour (<c>OtpSignup:Resend:MaxPerHour</c>, default 5). A phone number and a mailbox (whatever alias of it was typed) get no more, whatever address the entry is keyed by.</summary>
    [Range(1, 1000, ErrorMessage = "OtpSignup:Resend:MaxPerHour must be between 1 and 1000.")]
    public int MaxPerHour { get; set; } = 5;

    /// <summary>
    /// What a resend sends (<c>OtpSignup:Resend:Strategy</c>): <see cref="OtpResendStrategy.SameCode"/>
    /// (the default) sends the current code again while it has at least
    /// <see cref="SameCodeWhileRemaining"/> of its lifetime left, keeping its expiry and its
    /// attempts left; <see cref="OtpResendStrategy.NewCode"/> always sends a new code.
    /// </summary>
    public OtpResendStrategy Strategy { get; set; } = OtpResendStrategy.SameCode;

    /// <summary>
    /// With <see cref="OtpResendStrategy.SameCode"/>, the part of a code's lifetime that must be
    /// left for a resend to send it again (<c>OtpSignup:Resend:SameCodeWhileRemaining</c>, 0 to 1,
    /// default 0.5); later, a new code is sent.
    /// </summary>
    [Range(0.0, 1.0, ErrorMessage = "OtpSignup:Resend:SameCodeWhileRemaining must be between 0 and 1.")]
    public double SameCodeWhileRemaining { get; set; } = 0.5;
}

/// <summary>What a resend sends.</summary>
public enum OtpResendStrategy
{
    /// <summary>
    /// The current code again while enough of its lifetime is left (as Twilio Verify does): two
    /// messages never carry different codes, and a resend never refills the guesses.
    /// </summary>
    SameCode = 0,

    /// <summary>A new code every time; the previous one stops working and the new one has a full set of attempts.</summary>
    NewCode = 1,
}

/// <summary>How messages are worded: <c>OtpSignup:Messages</c>.</summary>
public sealed class OtpMessageOptions
{
    /// <summary>The app name shown in messages (<c>OtpSignup:Messages:AppName</c>).</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "OtpSignup:Messages:AppName must not be empty.")]
    [StringLength(100, ErrorMessage = "OtpSignup:Messages:AppName must be at most 100 characters.")]
    public string AppName { get; set; } = "OtpVerification";

    /// <summary>
    /// The default language (<c>OtpSignup:Messages:Culture</c>, default <c>en-US</c>): used when a
    /// request's <c>Accept-Language</c> names none of <see cref="SupportedCultures"/>, and by
    /// engine callers that give no culture (<see cref="OtpStartRequest.Culture"/>).
    /// </summary>
    public string Culture { get; set; } = "en-US";

    /// <summary>
    /// The languages the endpoints answer in, picked from <c>Accept-Language</c> when the app does
    /// not run ASP.NET Core's RequestLocalization itself (<c>OtpSignup:Messages:SupportedCultures</c>).
    /// Unset (<see langword="null"/>), the languages of the built-in texts: <see cref="OtpTexts.BuiltInCultures"/>
    /// (<c>en</c>, <c>es</c>). A configured list replaces them: list every language, and give the
    /// texts of a new one (<see cref="OtpLocalizationOptions.ResourceTypes"/>).
    /// </summary>
    [SuppressMessage("Performance", "CA1819:Properties should not return arrays", Justification = "Bound from configuration, like SmsRegions.")]
    public string[]? SupportedCultures { get; set; }

    /// <summary>
    /// The host named in the WebOTP / SMS Retriever line that ends every SMS, <c>@host #123456</c>
    /// (<c>OtpSignup:Messages:WebOtpHost</c>, e.g. <c>app.example.com</c>: a host name, no scheme,
    /// port or path). Unset, the endpoints use the host of the request that asked for the code;
    /// set it in production so that the line never depends on a <c>Host</c> header.
    /// </summary>
    public string? WebOtpHost { get; set; }
}

/// <summary>Defences against abuse of the send endpoints: <c>OtpSignup:Abuse</c>.</summary>
public sealed class OtpAbuseOptions
{
    /// <summary>
    /// Codes one client (by default, one IP address) may trigger per hour, across addresses and
    /// purposes (<c>OtpSignup:Abuse:MaxSendsPerClientPerHour</c>, default 30; 0 turns it off).
    /// Enforced in the store, so it holds across instances.
    /// </summary>
    [Range(0, 1_000_000, ErrorMessage = "OtpSignup:Abuse:MaxSendsPerClientPerHour must be between 0 and 1000000.")]
    public int MaxSendsPerClientPerHour { get; set; } = 30;

    /// <summary>
    /// Text messages the whole app may send per hour (<c>OtpSignup:Abuse:MaxSmsPerHour</c>,
    /// default 1000; 0 turns it off): a ceiling on the bill when bots pump SMS. Past it, SMS
    /// destinations are skipped (the email fallback is used when there is one).
    /// </summary>
    [Range(0, 100_000_000, ErrorMessage = "OtpSignup:Abuse:MaxSmsPerHour must be between 0 and 100000000.")]
    public int MaxSmsPerHour { get; set; } = 1000;

    /// <summary>
    /// Country calling codes SMS may go to, e.g. <c>["44"]</c>
    /// (<c>OtpSignup:Abuse:SmsCountryCodes</c>); empty (the default) allows every country. Coarse:
    /// <c>1</c> admits every country of the North American plan, Caribbean ranges used in toll
    /// fraud included. Prefer <see cref="SmsRegions"/>.
    /// </summary>
    [SuppressMessage("Performance", "CA1819:Properties should not return arrays", Justification = "Bound from configuration.")]
    public string[] SmsCountryCodes { get; set; } = [];

    /// <summary>
    /// Password reset and sign-in answer before their message is sent, so an unknown address
    /// (a decoy, which sends nothing) and a registered one take the same time to answer
    /// (<c>OtpSignup:Abuse:EqualizeResponseTimes</c>, default <see langword="true"/>). Signup needs
    /// nothing of the kind: it sends a real code to registered and new addresses alike.
    /// </summary>
    public bool EqualizeResponseTimes { get; set; } = true;

    /// <summary>
    /// ISO 3166 regions SMS may go to, e.g. <c>["US", "CA", "GB"]</c>
    /// (<c>OtpSignup:Abuse:SmsRegions</c>); empty (the default) allows every region. Decided on
    /// the numbering plan (libphonenumber, in <c>OtpVerification.AspNetCore</c>), so <c>US</c> does
    /// not admit Jamaica or the Dominican Republic, which share calling code 1.
    /// </summary>
    [SuppressMessage("Performance", "CA1819:Properties should not return arrays", Justification = "Bound from configuration.")]
    public string[] SmsRegions { get; set; } = [];

    /// <summary>
    /// The kinds of number SMS may go to (<c>OtpSignup:Abuse:SmsNumberTypes</c>), libphonenumber's
    /// names. Empty (the default) means <c>Mobile</c> and <c>FixedLineOrMobile</c> (where a plan
    /// cannot tell the two apart): premium-rate, shared-cost, VoIP, toll-free, pager and unknown
    /// numbers are refused unless listed, since they are where SMS pumping fraud pays. A list
    /// replaces the default, e.g. <c>["Mobile", "FixedLineOrMobile", "Voip"]</c>.
    /// </summary>
    [SuppressMessage("Performance", "CA1819:Properties should not return arrays", Justification = "Bound from configuration.")]
    public string[] SmsNumberTypes { get; set; } = [];

    /// <summary>Whether SMS may be sent to <paramref name="phone"/> under <see cref="SmsCountryCodes"/>.</summary>
    /// <param name="phone">An E.164 number.</param>
    /// <returns><see langword="true"/> when allowed.</returns>
    public bool AllowsSmsTo(string phone)
    {
        ArgumentNullException.ThrowIfNull(phone);
        if (SmsCountryCodes is null || SmsCountryCodes.Length == 0)
        {
            return true;
        }

        foreach (var code in SmsCountryCodes)
        {
            if (!string.IsNullOrEmpty(code) && phone.Length > code.Length + 1 && phone[0] == '+' && phone.AsSpan(1).StartsWith(code, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
