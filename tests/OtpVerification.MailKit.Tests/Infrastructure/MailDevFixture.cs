using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace OtpVerification.MailKit.Tests.Infrastructure;

/// <summary>
/// Starts a real SMTP catcher, MailDev (<c>npm install -g maildev@2.2.1</c>), on free loopback
/// ports for the tests of a class, and stops it afterwards. Fails, never skips, when MailDev is
/// not on PATH. Tests read what it caught through its HTTP API (<c>GET /email</c>). This one speaks
/// plain SMTP; <see cref="SecureMailDevFixture"/> speaks implicit TLS and asks for a password.
/// </summary>
public class MailDevFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly StringBuilder _output = new();
    private readonly string _mailDirectory = Path.Combine(Path.GetTempPath(), "otp-maildev-" + Guid.NewGuid().ToString("N"));
    private Process? _process;

    public string Host => "127.0.0.1";

    public int SmtpPort { get; private set; }

    public int WebPort { get; private set; }

    public HttpClient Http { get; } = new();

    /// <summary>A folder for the TLS certificate files (not the message store: MailDev reads every file there as a message).</summary>
    protected string TlsDirectory => _mailDirectory + "-tls";

    /// <summary>Extra command-line arguments (TLS, credentials).</summary>
    protected virtual IEnumerable<string> ExtraArguments() => [];

    public async Task InitializeAsync()
    {
        var executable = FindOnPath("maildev")
            ?? throw new InvalidOperationException(
                "MailDev is not on PATH. The SMTP sender tests need a real SMTP catcher: run `npm install -g maildev@2.2.1` (Node.js 18 or later), then run the tests again.");

        SmtpPort = FreeLoopbackPort();
        WebPort = FreeLoopbackPort(SmtpPort);
        Directory.CreateDirectory(_mailDirectory);
        Http.BaseAddress = new Uri($"http://{Host}:{WebPort}/");

        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--smtp", SmtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--web", WebPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--ip", Host, "--mail-directory", _mailDirectory }.Concat(ExtraArguments()))
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {executable}.");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"MailDev exited with code {_process.ExitCode} before it was ready:\n{Output}");
            }

            if (await IsReadyAsync())
            {
                return;
            }

            if (deadline.Elapsed > StartTimeout)
            {
                throw new InvalidOperationException($"MailDev was not ready on SMTP {SmtpPort} / HTTP {WebPort} within {StartTimeout.TotalSeconds} s:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }

        foreach (var directory in new[] { _mailDirectory, TlsDirectory })
        {
            try
            {
                if (Directory.Exists(directory))
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
            catch (IOException)
            {
                // Best effort: a leftover temp folder must not fail the run.
            }
        }
    }

    /// <summary>Waits until a message to <paramref name="to"/> has been caught, and returns it.</summary>
    public async Task<JsonElement> WaitForEmailAsync(string to, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var json = JsonDocument.Parse(await Http.GetStringAsync(new Uri("email", UriKind.Relative)));
            foreach (var email in json.RootElement.EnumerateArray())
            {
                if (email.GetProperty("to").EnumerateArray().Any(a => string.Equals(a.GetProperty("address").GetString(), to, StringComparison.OrdinalIgnoreCase)))
                {
                    return email.Clone();
                }
            }

            if (deadline.Elapsed > (timeout ?? TimeSpan.FromSeconds(10)))
            {
                throw new TimeoutException($"No email to {to} reached MailDev:\n{Output}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Reads the raw MIME source of a caught message.</summary>
    public Task<string> GetSourceAsync(JsonElement email)
        => Http.GetStringAsync(new Uri($"email/{email.GetProperty("id").GetString()}/source", UriKind.Relative));

    /// <summary>
    /// Reads the body parts of a caught message from its raw MIME source, decoded, in order, keyed by media
    /// type (<c>text/plain</c>, <c>text/html</c>). MailDev's own <c>html</c> field is sanitised, so
    /// tests about exactly what was sent read the parts from here.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> GetPartsAsync(JsonElement email)
    {
        var source = (await GetSourceAsync(email)).ReplaceLineEndings("\n");
        var contentType = email.GetProperty("headers").GetProperty("content-type").GetString() ?? string.Empty;
        var parts = new OrderedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var marker = "boundary=";
        var at = contentType.IndexOf(marker, StringComparison.OrdinalIgnoreCase);
        if (at < 0)
        {
            var (type, body) = ReadPart(source);
            parts[type] = body;
            return parts;
        }

        var boundary = "--" + contentType[(at + marker.Length)..].Trim('"', ' ', ';');
        foreach (var chunk in source.Split(boundary).Skip(1))
        {
            if (chunk.StartsWith("--", StringComparison.Ordinal))
            {
                break;
            }

            // The line break before a boundary belongs to the boundary (RFC 2046), not to the part.
            var part = chunk.TrimStart('\n');
            var (type, body) = ReadPart(part.EndsWith('\n') ? part[..^1] : part);
            parts[type] = body;
        }

        return parts;
    }

    private static (string MediaType, string Body) ReadPart(string part)
    {
        var split = part.IndexOf("\n\n", StringComparison.Ordinal);
        var headers = part[..split].Replace("\n ", " ", StringComparison.Ordinal).Split('\n');
        var body = part[(split + 2)..];
        string Header(string name) => headers.FirstOrDefault(h => h.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))?[(name.Length + 1)..].Trim() ?? string.Empty;
        var mediaType = Header("Content-Type").Split(';')[0].Trim().ToLowerInvariant();
        var decoded = Header("Content-Transfer-Encoding").ToLowerInvariant() switch
        {
            "base64" => Encoding.UTF8.GetString(Convert.FromBase64String(string.Concat(body.Where(c => !char.IsWhiteSpace(c))))),
            "quoted-printable" => DecodeQuotedPrintable(body),
            _ => body,
        };
        return (mediaType, decoded);
    }

    private static string DecodeQuotedPrintable(string body)
    {
        var bytes = new List<byte>();
        var text = body.Replace("=\n", string.Empty, StringComparison.Ordinal);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '=' && i + 2 < text.Length && Uri.IsHexDigit(text[i + 1]) && Uri.IsHexDigit(text[i + 2]))
            {
                bytes.Add(Convert.ToByte(text.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(text[i].ToString()));
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private async Task<bool> IsReadyAsync()
    {
        try
        {
            using var smtp = new TcpClient();
            await smtp.ConnectAsync(IPAddress.Loopback, SmtpPort);
            await ProbeSmtpAsync(smtp.GetStream());
            using var response = await Http.GetAsync(new Uri("email", UriKind.Relative));
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is SocketException or HttpRequestException or IOException or System.Security.Authentication.AuthenticationException)
        {
            return false;
        }
    }

    /// <summary>Checks the SMTP port once connected; the plain server needs nothing more.</summary>
    protected virtual Task ProbeSmtpAsync(NetworkStream stream) => Task.CompletedTask;

    /// <summary>How many messages MailDev holds.</summary>
    public async Task<int> CountAsync()
    {
        using var json = JsonDocument.Parse(await Http.GetStringAsync(new Uri("email", UriKind.Relative)));
        return json.RootElement.GetArrayLength();
    }

    internal static int FreeLoopbackPort(int except = 0)
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            if (port != except)
            {
                return port;
            }
        }
    }

    private static string? FindOnPath(string name)
    {
        var names = OperatingSystem.IsWindows() ? new[] { name + ".cmd", name + ".exe" } : new[] { name };
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var candidate in names)
            {
                var path = Path.Combine(directory, candidate);
                if (File.Exists(path))
                {
                    return path;
                }
            }
        }

        return null;
    }
}

/// <summary>
/// MailDev on implicit TLS (<c>--incoming-secure</c>) with a self-signed certificate made for the
/// run, and a user name and password it requires. Clients trust the certificate by pinning
/// <see cref="CertificateSha256"/> in a validation callback, never by turning validation off.
/// </summary>
public sealed class SecureMailDevFixture : MailDevFixture
{
    public const string UserName = "otp-sender";

    public const string Password = "maildev-Pa55-word";

    /// <summary>The SHA-256 hash of the server's certificate (hex).</summary>
    public string CertificateSha256 { get; private set; } = string.Empty;

    /// <summary>Accepts exactly the certificate this fixture made.</summary>
    public bool ValidateCertificate(object sender, X509Certificate? certificate, X509Chain? chain, System.Net.Security.SslPolicyErrors errors)
        => certificate is not null && string.Equals(certificate.GetCertHashString(HashAlgorithmName.SHA256), CertificateSha256, StringComparison.OrdinalIgnoreCase);

    protected override IEnumerable<string> ExtraArguments()
    {
        Directory.CreateDirectory(TlsDirectory);
        var certPath = Path.Combine(TlsDirectory, "cert.pem");
        var keyPath = Path.Combine(TlsDirectory, "key.pem");
        using var certificate = TestCertificates.CreateSelfSigned();
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        CertificateSha256 = certificate.GetCertHashString(HashAlgorithmName.SHA256);
        return ["--incoming-secure", "--incoming-cert", certPath, "--incoming-key", keyPath, "--incoming-user", UserName, "--incoming-pass", Password];
    }

    /// <summary>
    /// A whole TLS session (handshake, greeting, QUIT): MailDev 2.2.1 crashes when a connection to
    /// its TLS port closes before the handshake, so a bare TCP probe would kill it.
    /// </summary>
    protected override async Task ProbeSmtpAsync(NetworkStream stream)
    {
        await using var tls = new System.Net.Security.SslStream(stream, leaveInnerStreamOpen: true, ValidateCertificate);
        await tls.AuthenticateAsClientAsync("localhost");
        using var reader = new StreamReader(tls, Encoding.ASCII, leaveOpen: true);
        await reader.ReadLineAsync();
        await tls.WriteAsync(Encoding.ASCII.GetBytes("QUIT\r\n"));
        await reader.ReadLineAsync();
    }
}
