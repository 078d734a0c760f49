using System.Globalization;

namespace OtpVerification.Senders;

/// <summary>A code to deliver: the only object that carries a plaintext code, and only to a sender.</summary>
public sealed class OtpMessage
{
    /// <summary>The normalised address to deliver to.</summary>
    public required string To { get; init; }

    /// <summary>The channel of <see cref="To"/>.</summary>
    public required OtpChannel Channel { get; init; }

    /// <summary>What the code is for.</summary>
    public required OtpPurpose Purpose { get; init; }

    /// <summary>The code. Never log it.</summary>
    public required string Code { get; init; }

    /// <summary>Whether this is the same code as in an earlier message (a same-code resend): the wording says so.</summary>
    public bool IsRepeat { get; init; }

    /// <summary>How long the code stays valid.</summary>
    public required TimeSpan ExpiresIn { get; init; }

    /// <summary>When the code was issued.</summary>
    public required DateTimeOffset SentAt { get; init; }

    /// <summary>The culture to write the message in: the request's, captured when the code was asked for.</summary>
    public required CultureInfo Culture { get; init; }

    /// <summary>
    /// For an SMS, the host of the WebOTP / SMS Retriever line that ends it (<c>@host #code</c>,
    /// see <see cref="OtpWebOtp"/>); <see langword="null"/>: no such line.
    /// </summary>
    public string? WebOtpHost { get; init; }

    /// <summary>The app name to show.</summary>
    public required string AppName { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"OtpMessage {{ Channel = {Channel}, Purpose = {Purpose}, To = {OtpAddress.Mask(To)} }}";
}

/// <summary>Delivers codes on one channel.</summary>
public interface IOtpSender
{
    /// <summary>The channel this sender delivers on.</summary>
    OtpChannel Channel { get; }

    /// <summary>Delivers a message.</summary>
    /// <param name="message">The message, code included.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>A task that completes when the message was handed to the delivery service.</returns>
    /// <exception cref="OtpDeliveryException">The message could not be delivered.</exception>
    ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default);
}

/// <summary>A message could not be delivered. The text never contains the code.</summary>
public sealed class OtpDeliveryException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OtpDeliveryException()
        : base("The code could not be delivered.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed (without the code).</param>
    public OtpDeliveryException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the fault that caused it.</summary>
    /// <param name="message">What failed (without the code).</param>
    /// <param name="innerException">The underlying fault.</param>
    public OtpDeliveryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
