using System.Globalization;
using System.Text;

namespace OtpVerification.Redis.Connection;

/// <summary>The RESP2 reply types.</summary>
internal enum RedisReplyKind : byte
{
    /// <summary><c>+OK</c>: a short status line.</summary>
    SimpleString,

    /// <summary><c>-ERR …</c>: the server refused or failed the command.</summary>
    Error,

    /// <summary><c>:42</c>: a signed 64-bit integer.</summary>
    Integer,

    /// <summary><c>$5 hello</c>: binary-safe bytes, or null (<c>$-1</c>).</summary>
    BulkString,

    /// <summary><c>*2 …</c>: replies of any type, nested to any depth, or null (<c>*-1</c>).</summary>
    Array,
}

/// <summary>One reply from the server. A small struct: integers and nulls allocate nothing.</summary>
internal readonly struct RedisReply
{
    private readonly object? _value;
    private readonly long _integer;

    private RedisReply(RedisReplyKind kind, object? value, long integer)
    {
        Kind = kind;
        _value = value;
        _integer = integer;
    }

    public RedisReplyKind Kind { get; }

    /// <summary><see langword="true"/> for a null bulk string or a null array.</summary>
    public bool IsNull => _value is null && Kind is RedisReplyKind.BulkString or RedisReplyKind.Array;

    public bool IsError => Kind == RedisReplyKind.Error;

    /// <summary>The integer of an integer reply.</summary>
    /// <exception cref="InvalidCastException">The reply is another type.</exception>
    public long Integer => Kind == RedisReplyKind.Integer ? _integer : throw Mismatch("an integer");

    /// <summary>The bytes of a bulk string (null for a null bulk string).</summary>
    /// <exception cref="InvalidCastException">The reply is another type.</exception>
    public byte[]? Bytes => Kind == RedisReplyKind.BulkString ? (byte[]?)_value : throw Mismatch("a bulk string");

    /// <summary>The elements of an array (null for a null array).</summary>
    /// <exception cref="InvalidCastException">The reply is another type.</exception>
    public RedisReply[]? Elements => Kind == RedisReplyKind.Array ? (RedisReply[]?)_value : throw Mismatch("an array");

    /// <summary>The message of an error reply (<c>ERR unknown command …</c>).</summary>
    public string? ErrorMessage => Kind == RedisReplyKind.Error ? (string?)_value : null;

    public static RedisReply SimpleString(string value) => new(RedisReplyKind.SimpleString, value, 0);

    public static RedisReply Error(string message) => new(RedisReplyKind.Error, message, 0);

    public static RedisReply FromInteger(long value) => new(RedisReplyKind.Integer, null, value);

    public static RedisReply Bulk(byte[]? value) => new(RedisReplyKind.BulkString, value, 0);

    public static RedisReply FromArray(RedisReply[]? elements) => new(RedisReplyKind.Array, elements, 0);

    /// <summary>
    /// The reply as text: a status line, a bulk string decoded as UTF-8, an integer's digits, or an
    /// error's message; null for a null reply.
    /// </summary>
    /// <exception cref="InvalidCastException">The reply is an array.</exception>
    public string? AsString() => Kind switch
    {
        RedisReplyKind.SimpleString or RedisReplyKind.Error => (string?)_value,
        RedisReplyKind.BulkString => _value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : null,
        RedisReplyKind.Integer => _integer.ToString(CultureInfo.InvariantCulture),
        _ => throw Mismatch("text"),
    };

    /// <summary>
    /// The reply as an integer: an integer reply, or a bulk/simple string holding one (Redis sends
    /// numbers stored in hashes as bulk strings).
    /// </summary>
    /// <exception cref="InvalidCastException">The reply holds no integer.</exception>
    public long AsInt64()
    {
        if (Kind == RedisReplyKind.Integer)
        {
            return _integer;
        }

        var text = Kind is RedisReplyKind.BulkString or RedisReplyKind.SimpleString ? AsString() : null;
        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw Mismatch("an integer");
    }

    /// <summary>Throws when the reply is an error; returns it otherwise.</summary>
    /// <exception cref="RedisServerException">The reply is an error.</exception>
    public RedisReply ThrowIfError() => IsError ? throw new RedisServerException(ErrorMessage!) : this;

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        RedisReplyKind.SimpleString => $"+{_value}",
        RedisReplyKind.Error => $"-{_value}",
        RedisReplyKind.Integer => $":{_integer}",
        RedisReplyKind.BulkString => _value is byte[] b ? $"${b.Length}" : "$-1",
        _ => _value is RedisReply[] a ? $"*{a.Length}" : "*-1",
    };

    private InvalidCastException Mismatch(string expected) => new($"Expected {expected} reply, got {this}.");
}

/// <summary>The server answered a command with an error reply.</summary>
internal sealed class RedisServerException : Exception
{
    public RedisServerException()
    {
    }

    public RedisServerException(string message)
        : base(message)
    {
    }

    public RedisServerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The error's prefix (<c>ERR</c>, <c>NOSCRIPT</c>, <c>WRONGPASS</c>, <c>OOM</c>…).</summary>
    public string Prefix
    {
        get
        {
            var space = Message.IndexOf(' ', StringComparison.Ordinal);
            return space < 0 ? Message : Message[..space];
        }
    }
}
