using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace OtpVerification.MailKit.Tests.Infrastructure;

/// <summary>
/// A minimal plain-text SMTP server for what MailDev cannot do: it offers the SASL mechanisms given
/// (XOAUTH2 among them) and accepts any AUTH, records every command line, and can refuse every
/// recipient with a reply that quotes the address, as real servers do. With a certificate it speaks
/// implicit TLS.
/// </summary>
public sealed class ScriptedSmtpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _commands = new();
    private readonly string _mechanisms;
    private readonly bool _refuseRecipients;
    private readonly X509Certificate2? _certificate;

    public ScriptedSmtpServer(string mechanisms = "XOAUTH2 PLAIN LOGIN", bool refuseRecipients = false, X509Certificate2? certificate = null)
    {
        _mechanisms = mechanisms;
        _refuseRecipients = refuseRecipients;
        _certificate = certificate;
        _listener.Start();
        _ = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Every command line received, in order.</summary>
    public IReadOnlyList<string> Commands => _commands.ToArray();

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = ServeAsync(client);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            Stream stream = client.GetStream();
            if (_certificate is not null)
            {
                var tls = new SslStream(stream);
                await tls.AuthenticateAsServerAsync(_certificate);
                stream = tls;
            }

            await using var __ = stream;
            using var reader = new StreamReader(stream, Encoding.ASCII);
            await using var writer = new StreamWriter(stream, Encoding.ASCII) { NewLine = "\r\n", AutoFlush = true };
            await writer.WriteLineAsync("220 scripted.test ESMTP");
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                _commands.Enqueue(line);
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await writer.WriteLineAsync("250-scripted.test");
                        await writer.WriteLineAsync($"250-AUTH {_mechanisms}");
                        await writer.WriteLineAsync("250 8BITMIME");
                        break;
                    case "AUTH":
                        await writer.WriteLineAsync("235 2.7.0 Authentication successful");
                        break;
                    case "RCPT" when _refuseRecipients:
                        var address = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
                        await writer.WriteLineAsync($"550 5.1.1 {address}: Recipient address rejected: User unknown in virtual mailbox table");
                        break;
                    case "DATA":
                        await writer.WriteLineAsync("354 End data with <CR><LF>.<CR><LF>");
                        while (await reader.ReadLineAsync(_stop.Token) is { } data && data != ".")
                        {
                        }

                        await writer.WriteLineAsync("250 2.0.0 Ok: queued");
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 2.0.0 Bye");
                        return;
                    case "MAIL" or "RCPT" or "RSET" or "NOOP" or "HELO":
                        await writer.WriteLineAsync("250 2.0.0 Ok");
                        break;
                    default:
                        await writer.WriteLineAsync("502 5.5.2 Command not recognized");
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or AuthenticationException)
        {
            // The client went away (or refused the certificate), or the server stopped.
        }
    }
}
