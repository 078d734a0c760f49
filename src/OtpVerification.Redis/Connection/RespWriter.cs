using System.Buffers;
using System.Globalization;
using System.Text;

namespace OtpVerification.Redis.Connection;

/// <summary>Writes commands in the RESP2 request format (an array of bulk strings).</summary>
internal readonly ref struct RespWriter
{
    private const int DirectEncodeLimit = 16 * 1024;
    private readonly IBufferWriter<byte> _output;

    public RespWriter(IBufferWriter<byte> output) => _output = output;

    /// <summary>Writes one whole command.</summary>
    public static void WriteCommand(IBufferWriter<byte> output, ReadOnlySpan<RedisArg> command)
    {
        if (command.IsEmpty)
        {
            throw new ArgumentException("A command needs at least a name.", nameof(command));
        }

        var writer = new RespWriter(output);
        writer.WritePrefixed((byte)'*', command.Length);
        foreach (var arg in command)
        {
            arg.WriteTo(writer);
        }
    }

    public void WriteBulk(ReadOnlySpan<byte> value)
    {
        WritePrefixed((byte)'$', value.Length);
        WriteRaw(value);
        WriteRaw("\r\n"u8);
    }

    public void WriteBulk(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WritePrefixed((byte)'$', length);
        if (length <= DirectEncodeLimit)
        {
            var span = _output.GetSpan(length);
            _output.Advance(Encoding.UTF8.GetBytes(value, span));
        }
        else
        {
            var rented = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                var written = Encoding.UTF8.GetBytes(value, rented);
                WriteRaw(rented.AsSpan(0, written));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        WriteRaw("\r\n"u8);
    }

    public void WriteBulk(long value)
    {
        Span<byte> digits = stackalloc byte[20];
        value.TryFormat(digits, out var length, default, CultureInfo.InvariantCulture);
        WriteBulk(digits[..length]);
    }

    private void WritePrefixed(byte prefix, int length)
    {
        // Prefix, at most 10 digits, CR LF.
        var span = _output.GetSpan(13);
        span[0] = prefix;
        length.TryFormat(span[1..], out var written, default, CultureInfo.InvariantCulture);
        span[written + 1] = (byte)'\r';
        span[written + 2] = (byte)'\n';
        _output.Advance(written + 3);
    }

    private void WriteRaw(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var span = _output.GetSpan(Math.Min(data.Length, 64 * 1024));
            var count = Math.Min(span.Length, data.Length);
            data[..count].CopyTo(span);
            _output.Advance(count);
            data = data[count..];
        }
    }
}
