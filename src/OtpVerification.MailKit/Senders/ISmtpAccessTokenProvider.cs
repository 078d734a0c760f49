namespace OtpVerification.MailKit;

/// <summary>
/// Supplies OAuth 2.0 access tokens for SMTP (SASL XOAUTH2), for providers that are retiring
/// password SMTP: Microsoft 365 (scope <c>https://outlook.office365.com/.default</c>, client
/// credentials with the <c>SMTP.SendAsApp</c> permission) and Gmail (scope
/// <c>https://mail.google.com/</c>). Register one as a singleton and set <c>Smtp:UserName</c> to
/// the mailbox the token is for; the MailKit sender then authenticates with XOAUTH2 instead of a
/// password.
/// </summary>
public interface ISmtpAccessTokenProvider
{
    /// <summary>
    /// Returns a valid access token for <paramref name="userName"/>. Called each time the sender
    /// opens a connection (not for every message: the connection is kept alive); cache and refresh
    /// tokens here, as MSAL and Google's libraries do. Never log the token.
    /// </summary>
    /// <param name="userName">The mailbox to authenticate as (<c>Smtp:UserName</c>).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The bearer access token, without the <c>Bearer </c> prefix.</returns>
    ValueTask<string> GetAccessTokenAsync(string userName, CancellationToken cancellationToken);
}
