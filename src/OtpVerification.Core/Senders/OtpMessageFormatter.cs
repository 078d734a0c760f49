using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace OtpVerification.Senders;

/// <summary>A message ready to send: subject (email only), plain text and, for email, HTML.</summary>
/// <param name="Subject">The subject line.</param>
/// <param name="TextBody">The plain-text body (also the SMS text).</param>
/// <param name="HtmlBody">The HTML body, or <see langword="null"/> for text-only channels.</param>
public sealed record OtpFormattedMessage(string Subject, string TextBody, string? HtmlBody);

/// <summary>
/// Words a code message. Replace it in DI to change the templates (or decorate
/// <see cref="DefaultOtpMessageFormatter"/>, which is registered as itself too, to change one part).
/// </summary>
public interface IOtpMessageFormatter
{
    /// <summary>Renders a message in <see cref="OtpMessage.Culture"/>. Any inserted value in HTML output must be HTML-encoded.</summary>
    /// <param name="message">The message to render.</param>
    /// <returns>The rendered message.</returns>
    OtpFormattedMessage Format(OtpMessage message);
}

/// <summary>
/// The default wording, in the message's culture (<see cref="OtpTexts"/>, keys <c>Message.*</c>):
/// an email with a plain-text part and an HTML part (inline CSS, the code large and easy to
/// select, its lifetime, "not you?" and the app name; every inserted value HTML-encoded), and an
/// SMS whose last line is the WebOTP / SMS Retriever line <c>@host #code</c> when the message
/// carries a host.
/// </summary>
public sealed class DefaultOtpMessageFormatter : IOtpMessageFormatter
{
    // Encodes what HTML needs (< > & ' " and the like) and leaves letters of every script as they
    // are, so "código" stays readable in the source a mail client shows (the page is UTF-8).
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    private readonly OtpTexts _texts;

    /// <summary>Creates the formatter with the built-in texts only.</summary>
    public DefaultOtpMessageFormatter()
        : this(new OtpTexts())
    {
    }

    /// <summary>Creates the formatter with <paramref name="texts"/> (the app's texts first, then the built-in ones).</summary>
    /// <param name="texts">The texts.</param>
    public DefaultOtpMessageFormatter(OtpTexts texts)
    {
        _texts = texts ?? throw new ArgumentNullException(nameof(texts));
    }

    /// <inheritdoc />
    public OtpFormattedMessage Format(OtpMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var culture = message.Culture;
        // Keyed by the purpose's name (Message.Subject.PasswordReset…): a new purpose is worded by
        // adding its entries; until then it is worded like a signup.
        var purpose = message.Purpose.ToString();
        if (_texts.Find("Message.Subject." + purpose, culture) is null || _texts.Find("Message.Action." + purpose, culture) is null)
        {
            purpose = nameof(OtpPurpose.Signup);
        }

        var minutes = Math.Max(1, (int)Math.Ceiling(message.ExpiresIn.TotalMinutes));
        var lifetime = Text(minutes == 1 ? "Message.Lifetime.One" : "Message.Lifetime.Many", culture, minutes);
        var subject = Text("Message.Subject." + purpose, culture, message.AppName);
        var action = Text("Message.Action." + purpose, culture);

        if (message.Channel == OtpChannel.Sms)
        {
            var sms = new StringBuilder(Text("Message.Sms", culture, message.Code, message.AppName, action, lifetime));
            if (message.IsRepeat)
            {
                sms.Append(' ').Append(Text("Message.Sms.Repeat", culture));
            }

            sms.Append(' ').Append(Text("Message.Sms.NotYou", culture));
            if (OtpWebOtp.Line(message.WebOtpHost, message.Code) is { } line)
            {
                // WebOTP and the SMS Retriever read the last line: "@host #code", nothing after it.
                sms.Append("\n\n").Append(line);
            }

            return new OtpFormattedMessage(subject, sms.ToString(), null);
        }

        var intro = Text("Message.Email.Intro", culture, message.AppName, message.Code);
        var repeat = message.IsRepeat ? Text("Message.Email.Repeat", culture) : null;
        var enter = Text("Message.Email.Enter", culture, action, lifetime);
        var notYou = Text("Message.Email.NotYou", culture);
        var footer = Text("Message.Email.Footer", culture, message.AppName);

        var text = new StringBuilder()
            .Append(intro).Append(repeat is null ? string.Empty : " " + repeat).Append("\n\n")
            .Append(enter).Append("\n\n")
            .Append(notYou).Append("\n\n")
            .Append("-- \n").Append(footer).Append('\n')
            .ToString();

        var html = Html(
            culture,
            subject: subject,
            appName: message.AppName,
            heading: Text("Message.Email.Heading", culture, action),
            code: message.Code,
            codeLabel: Text("Message.Email.CodeLabel", culture),
            repeat: repeat,
            expires: Text("Message.Email.Expires", culture, lifetime),
            notYou: notYou,
            footer: footer);
        return new OtpFormattedMessage(subject, text, html);
    }

    private string Text(string key, CultureInfo culture, params object?[] args) => _texts.Get(key, culture, args);

    private static string Html(CultureInfo culture, string subject, string appName, string heading, string code, string codeLabel, string? repeat, string expires, string notYou, string footer)
    {
        static string E(string value) => Encoder.Encode(value);
        var lang = string.IsNullOrEmpty(culture.Name) ? "en" : culture.Name;
        var repeatLine = repeat is null ? string.Empty : $"""<p style="margin:0 0 12px;font-size:15px;line-height:22px;color:#1f2328">{E(repeat)}</p>""";

        // Table layout and inline styles: what mail clients (Outlook, Gmail) render faithfully.
        // The code sits alone in its own cell in a monospace face, so a double-click selects all of it.
        return $"""
            <!DOCTYPE html>
            <html lang="{E(lang)}">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="color-scheme" content="light">
            <title>{E(subject)}</title>
            </head>
            <body style="margin:0;padding:0;background:#f4f5f7">
            <table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f5f7">
            <tr><td align="center" style="padding:24px 12px">
            <table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:480px;background:#ffffff;border-radius:12px;border:1px solid #e1e4e8;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif">
            <tr><td style="padding:28px 32px 0;font-size:14px;font-weight:600;letter-spacing:0.02em;color:#57606a">{E(appName)}</td></tr>
            <tr><td style="padding:12px 32px 0">
            <h1 style="margin:0 0 16px;font-size:20px;line-height:28px;font-weight:600;color:#1f2328">{E(heading)}</h1>
            <p style="margin:0 0 8px;font-size:13px;color:#57606a">{E(codeLabel)}</p>
            <table role="presentation" cellpadding="0" cellspacing="0" style="margin:0 0 16px"><tr>
            <td style="padding:12px 20px;background:#f6f8fa;border:1px solid #d0d7de;border-radius:8px;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,'Liberation Mono',monospace;font-size:34px;line-height:40px;font-weight:700;letter-spacing:8px;color:#1f2328;user-select:all;-webkit-user-select:all">{E(code)}</td>
            </tr></table>
            {repeatLine}
            <p style="margin:0 0 24px;font-size:15px;line-height:22px;color:#1f2328">{E(expires)}</p>
            </td></tr>
            <tr><td style="padding:16px 32px 28px;border-top:1px solid #e1e4e8">
            <p style="margin:0 0 8px;font-size:13px;line-height:20px;color:#57606a">{E(notYou)}</p>
            <p style="margin:0;font-size:12px;line-height:18px;color:#8c959f">{E(footer)}</p>
            </td></tr>
            </table>
            </td></tr>
            </table>
            </body>
            </html>
            """;
    }
}
