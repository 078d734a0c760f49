using System.Globalization;
using System.Net.Security;
using System.Security.Authentication;

namespace OtpVerification.Redis.Connection;

/// <summary>A server address: a host name or IP literal and a port.</summary>
/// <param name="Host">The host name or IP address (IPv6 without brackets).</param>
/// <param name="Port">The TCP port.</param>
internal sealed record RedisEndpoint(string Host, int Port)
{
    /// <inheritdoc />
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal)
        ? $"[{Host}]:{Port.ToString(CultureInfo.InvariantCulture)}"
        : $"{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>
/// Connection settings parsed from a StackExchange.Redis-style configuration string:
/// comma-separated endpoints (<c>host</c>, <c>host:port</c>, <c>[::1]:port</c>) and
/// <c>key=value</c> options.
/// </summary>
internal sealed class RedisConnectionSettings
{
    /// <summary>The port used when an endpoint has none and TLS is off.</summary>
    public const int DefaultPort = 6379;

    /// <summary>The port used when an endpoint has none and TLS is on (as StackExchange.Redis does).</summary>
    public const int DefaultSslPort = 6380;

    // Keywords of StackExchange.Redis that mean nothing for a single multiplexed connection to a
    // standalone server or cluster node; accepted so existing connection strings keep working.
    private static readonly HashSet<string> IgnoredKeywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "allowAdmin", "connectRetry", "configChannel", "configCheckSeconds", "channelPrefix",
        "heartbeatInterval", "highPrioritySocketThreads", "resolveDns", "responseTimeout", "setlib",
        "tiebreaker", "version", "keepAlive", "library", "ignoreUnknown",
    };

    /// <summary>The servers, tried in order; the first one that accepts the connection is used.</summary>
    public IReadOnlyList<RedisEndpoint> Endpoints { get; private init; } = [];

    /// <summary>The ACL user name for <c>AUTH</c>; null for the default user.</summary>
    public string? User { get; private init; }

    /// <summary>The password for <c>AUTH</c>; null when the server needs none.</summary>
    public string? Password { get; private init; }

    /// <summary>Whether the connection is wrapped in TLS.</summary>
    public bool Ssl { get; private init; }

    /// <summary>The name the server certificate must carry; the endpoint's host when null.</summary>
    public string? SslHost { get; private init; }

    /// <summary>The TLS versions allowed; <see cref="SslProtocols.None"/> lets the OS choose.</summary>
    public SslProtocols SslProtocols { get; private init; }

    /// <summary>Whether the server certificate's revocation status is checked.</summary>
    public bool CheckCertificateRevocation { get; private init; } = true;

    /// <summary>The database selected after connecting.</summary>
    public int DefaultDatabase { get; private init; }

    /// <summary>How long one connection attempt (TCP, TLS, AUTH, SELECT) may take.</summary>
    public TimeSpan ConnectTimeout { get; private init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a command may wait for its reply before the connection is deemed broken.</summary>
    public TimeSpan CommandTimeout { get; private init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// StackExchange.Redis's <c>abortConnect</c>. Parsed for compatibility; this client never fails
    /// start-up, it always connects in the background and retries (as with <c>abortConnect=false</c>).
    /// </summary>
    public bool AbortOnConnectFail { get; private init; } = true;

    /// <summary>The connection's name (<c>CLIENT SETNAME</c>); none when null.</summary>
    public string? ClientName { get; private init; }

    /// <summary>Validates the server certificate in place of the system's check, when set.</summary>
    public RemoteCertificateValidationCallback? CertificateValidation { get; init; }

    /// <summary>The wait before the second reconnect attempt; it doubles up to <see cref="ReconnectMaxDelay"/>.</summary>
    public TimeSpan ReconnectMinDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The longest wait between two reconnect attempts.</summary>
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Parses a configuration string.</summary>
    /// <param name="configuration">For example <c>redis1:6379,redis2:6379,user=app,password=…,ssl=true,defaultDatabase=2</c>.</param>
    /// <returns>The settings.</returns>
    /// <exception cref="FormatException">The string is malformed, or names an unknown or unsupported option. The message never repeats a password.</exception>
    public static RedisConnectionSettings Parse(string configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var hosts = new List<(string Host, int? Port)>();
        string? user = null, password = null, sslHost = null, name = null;
        bool ssl = false, abort = true, revocation = true;
        var protocols = SslProtocols.None;
        int database = 0;
        int? connectTimeout = null, syncTimeout = null, asyncTimeout = null;
        var tokens = configuration.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var ignoreUnknown = tokens.Any(t => t.StartsWith("ignoreUnknown=", StringComparison.OrdinalIgnoreCase)
            && bool.TryParse(t["ignoreUnknown=".Length..], out var ignore) && ignore);

        foreach (var token in tokens)
        {
            var eq = token.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                hosts.Add(ParseEndpoint(token));
                continue;
            }

            var key = token[..eq].Trim();
            var value = token[(eq + 1)..].Trim();
            switch (key.ToUpperInvariant())
            {
                case "PASSWORD":
                    password = value.Length == 0 ? null : value;
                    break;
                case "USER":
                    user = value.Length == 0 ? null : value;
                    break;
                case "SSL":
                    ssl = ParseBool(key, value);
                    break;
                case "SSLHOST":
                    sslHost = value.Length == 0 ? null : value;
                    break;
                case "SSLPROTOCOLS":
                    protocols = ParseProtocols(key, value);
                    break;
                case "CHECKCERTIFICATEREVOCATION":
                    revocation = ParseBool(key, value);
                    break;
                case "DEFAULTDATABASE":
                    database = ParseInt(key, value, 0);
                    break;
                case "CONNECTTIMEOUT":
                    connectTimeout = ParseInt(key, value, 1);
                    break;
                case "SYNCTIMEOUT":
                    syncTimeout = ParseInt(key, value, 1);
                    break;
                case "ASYNCTIMEOUT":
                    asyncTimeout = ParseInt(key, value, 1);
                    break;
                case "ABORTCONNECT":
                    abort = ParseBool(key, value);
                    break;
                case "NAME":
                    name = value.Length == 0 ? null : value;
                    break;
                case "SERVICENAME":
                    throw new FormatException("Option 'serviceName' (Redis Sentinel) is not supported; list the primary's endpoint instead.");
                case "PROXY":
                    throw new FormatException("Option 'proxy' is not supported.");
                case "PROTOCOL":
                    if (!value.Equals("resp2", StringComparison.OrdinalIgnoreCase) && value != "2")
                    {
                        throw new FormatException($"Option 'protocol={value}' is not supported; only RESP2 is.");
                    }

                    break;
                default:
                    if (!IgnoredKeywords.Contains(key) && !ignoreUnknown)
                    {
                        throw new FormatException($"Option '{key}' is not supported.");
                    }

                    break;
            }
        }

        if (hosts.Count == 0)
        {
            throw new FormatException("No endpoint is given (expected for example '127.0.0.1:6379').");
        }

        var defaultPort = ssl ? DefaultSslPort : DefaultPort;
        return new RedisConnectionSettings
        {
            Endpoints = hosts.Select(h => new RedisEndpoint(h.Host, h.Port ?? defaultPort)).ToArray(),
            User = user,
            Password = password,
            Ssl = ssl,
            SslHost = sslHost,
            SslProtocols = protocols,
            CheckCertificateRevocation = revocation,
            DefaultDatabase = database,
            ConnectTimeout = TimeSpan.FromMilliseconds(connectTimeout ?? 5000),
            CommandTimeout = TimeSpan.FromMilliseconds(asyncTimeout ?? syncTimeout ?? 5000),
            AbortOnConnectFail = abort,
            ClientName = name,
        };
    }

    /// <summary>A copy with another certificate check and reconnect timing (tests and DI).</summary>
    public RedisConnectionSettings With(RemoteCertificateValidationCallback? certificateValidation = null, TimeSpan? reconnectMinDelay = null, TimeSpan? reconnectMaxDelay = null) => new()
    {
        Endpoints = Endpoints,
        User = User,
        Password = Password,
        Ssl = Ssl,
        SslHost = SslHost,
        SslProtocols = SslProtocols,
        CheckCertificateRevocation = CheckCertificateRevocation,
        DefaultDatabase = DefaultDatabase,
        ConnectTimeout = ConnectTimeout,
        CommandTimeout = CommandTimeout,
        AbortOnConnectFail = AbortOnConnectFail,
        ClientName = ClientName,
        CertificateValidation = certificateValidation ?? CertificateValidation,
        ReconnectMinDelay = reconnectMinDelay ?? ReconnectMinDelay,
        ReconnectMaxDelay = reconnectMaxDelay ?? ReconnectMaxDelay,
    };

    private static (string Host, int? Port) ParseEndpoint(string token)
    {
        string host;
        string? port = null;
        if (token.StartsWith('['))
        {
            var close = token.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"Endpoint '{token}' has no closing ']'.");
            }

            host = token[1..close];
            var rest = token[(close + 1)..];
            if (rest.Length > 0)
            {
                port = rest.StartsWith(':') ? rest[1..] : throw new FormatException($"Endpoint '{token}' is malformed.");
            }
        }
        else
        {
            var colon = token.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0 && colon == token.LastIndexOf(':'))
            {
                host = token[..colon];
                port = token[(colon + 1)..];
            }
            else
            {
                // No colon, or several: a bare IPv6 address.
                host = token;
            }
        }

        if (host.Length == 0)
        {
            throw new FormatException($"Endpoint '{token}' has no host.");
        }

        if (port is null)
        {
            return (host, null);
        }

        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number is < 1 or > 65535)
        {
            throw new FormatException($"Endpoint '{token}' has an invalid port.");
        }

        return (host, number);
    }

    private static bool ParseBool(string key, string value) => bool.TryParse(value, out var result)
        ? result
        : throw new FormatException($"Option '{key}' must be true or false, not '{value}'.");

    private static int ParseInt(string key, string value, int min) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var result) && result >= min
            ? result
            : throw new FormatException($"Option '{key}' must be a whole number of at least {min}, not '{value}'.");

    private static SslProtocols ParseProtocols(string key, string value)
    {
        var result = SslProtocols.None;
        foreach (var part in value.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Enum.TryParse<SslProtocols>(part, ignoreCase: true, out var protocol) || int.TryParse(part, CultureInfo.InvariantCulture, out _))
            {
                throw new FormatException($"Option '{key}' has an unknown protocol '{part}'.");
            }

            result |= protocol;
        }

        return result;
    }
}
