using System.Globalization;

namespace OtpVerification.Redis.Connection;

/// <summary>
/// One argument of a Redis command: text (sent as UTF-8), bytes, or an integer. Converts
/// implicitly, so a command reads as a collection expression: <c>["SET", key, value]</c>.
/// </summary>
internal readonly struct RedisArg
{
    private readonly string? _text;
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly long _integer;
    private readonly ArgKind _kind;

    private RedisArg(string text)
    {
        _text = text;
        _kind = ArgKind.Text;
    }

    private RedisArg(ReadOnlyMemory<byte> bytes)
    {
        _bytes = bytes;
        _kind = ArgKind.Bytes;
    }

    private RedisArg(long integer)
    {
        _integer = integer;
        _kind = ArgKind.Integer;
    }

    private enum ArgKind : byte
    {
        Text,
        Bytes,
        Integer,
    }

    public static implicit operator RedisArg(string value) => new(value ?? throw new ArgumentNullException(nameof(value)));

    public static implicit operator RedisArg(byte[] value) => new(new ReadOnlyMemory<byte>(value ?? throw new ArgumentNullException(nameof(value))));

    public static implicit operator RedisArg(ReadOnlyMemory<byte> value) => new(value);

    public static implicit operator RedisArg(long value) => new(value);

    public static implicit operator RedisArg(int value) => new(value);

    /// <summary>Writes the argument as a RESP bulk string.</summary>
    public void WriteTo(RespWriter writer)
    {
        switch (_kind)
        {
            case ArgKind.Text:
                writer.WriteBulk(_text!);
                break;
            case ArgKind.Bytes:
                writer.WriteBulk(_bytes.Span);
                break;
            default:
                writer.WriteBulk(_integer);
                break;
        }
    }

    /// <inheritdoc />
    public override string ToString() => _kind switch
    {
        ArgKind.Text => _text!,
        ArgKind.Bytes => $"<{_bytes.Length} bytes>",
        _ => _integer.ToString(CultureInfo.InvariantCulture),
    };
}
