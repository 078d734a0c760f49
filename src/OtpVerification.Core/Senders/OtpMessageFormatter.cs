using System.Globalization;
using System.Net;

namespace OtpVerification.Senders;

/// <summary>A message ready to send: subject (email only), plain text and, for email, HTML.</summary>
/// <param name="Subject">The subject line.</param>
/// <param name="TextBody">The plain-text body (also the SMS text).</param>
/// <param name="HtmlBody">The HTML body, or <see langword="null"/> for text-only channels.</param>
public sealed record OtpFormattedMessage(string Subject, string TextBody, string? HtmlBody);

/// <summary>Words a code message. Replace it in DI to change the templates.</summary>
public interface IOtpMessageFormatter
{
    /// <summary>Renders a message. Any user-supplied text in HTML output must be encoded.</summary>
    /// <param name="message">The message to render.</param>
    /// <returns>The rendered message.</returns>
    OtpFormattedMessage Format(OtpMessage message);
}

/// <summary>
/// The default wording: the code prominent, its lifetime, and "ignore this if it was not you",
/// in plain text and HTML (every inserted value HTML-encoded).
/// </summary>
public sealed class DefaultOtpMessageFormatter : IOtpMessageFormatter
{
    /// <inheritdoc />
    public OtpFormattedMessage Format(OtpMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var minutes = Math.Max(1, (int)Math.Ceiling(message.ExpiresIn.TotalMinutes));
        var lifetime = string.Format(CultureInfo.InvariantCulture, minutes == 1 ? "{0} minute" : "{0} minutes", minutes);
        var (subject, action) = message.Purpose switch
        {
            OtpPurpose.PasswordReset => ($"{message.AppName}: your password reset code", "reset your password"),
            OtpPurpose.SignIn => ($"{message.AppName}: your sign-in code", "sign in"),
            OtpPurpose.PhoneVerification => ($"{message.AppName}: your verification code", "verify your phone number"),
            _ => ($"{message.AppName}: your verification code", "finish creating your account"),
        };

        var again = message.IsRepeat ? " It is the same code as in our previous message." : string.Empty;
        if (message.Channel == OtpChannel.Sms)
        {
            var sms = $"{message.Code} is your {message.AppName} code to {action}.{(message.IsRepeat ? " Same code as before." : string.Empty)} It expires in {lifetime}. If this was not you, ignore this message.";
            return new OtpFormattedMessage(subject, sms, null);
        }

        var text = $"Your {message.AppName} code is {message.Code}.{again}\n\nEnter it to {action}. It expires in {lifetime}.\n\nIf this was not you, ignore this email: nothing happens without the code.\n";
        var app = WebUtility.HtmlEncode(message.AppName);
        var code = WebUtility.HtmlEncode(message.Code);
        var lang = WebUtility.HtmlEncode(message.Culture.Name);
        var html = $"""
            <!DOCTYPE html>
            <html lang="{lang}"><head><meta charset="utf-8"><title>{WebUtility.HtmlEncode(subject)}</title></head>
            <body style="font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1f2328;max-width:480px;margin:0 auto;padding:24px">
            <p>Your {app} code to {WebUtility.HtmlEncode(action)}:</p>
            <p style="font-size:32px;font-weight:700;letter-spacing:8px;font-family:ui-monospace,Menlo,Consolas,monospace;margin:16px 0">{code}</p>
            <p>{WebUtility.HtmlEncode(again.Trim())} It expires in {WebUtility.HtmlEncode(lifetime)}.</p>
            <p style="color:#656d76;font-size:13px">If this was not you, ignore this email: nothing happens without the code.</p>
            </body></html>
            """;
        return new OtpFormattedMessage(subject, text, html);
    }
}
