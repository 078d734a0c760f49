using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace OtpVerification.Redis.Connection;

/// <summary>
/// Reads RESP2 replies from a byte sequence that may hold part of a reply, one reply or many.
/// Bulk strings are copied once, straight from the network buffers into their own array.
/// </summary>
internal static class RespParser
{
    private const int MaxDepth = 512;
    private const int MaxLineLength = 1024 * 1024;

    /// <summary>
    /// Reads one whole reply. Returns <see langword="false"/> (and leaves <paramref name="reader"/>
    /// anywhere) when the buffer ends before the reply does; the caller retries with more bytes
    /// from the same start.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not RESP2.</exception>
    public static bool TryRead(ref SequenceReader<byte> reader, out RedisReply reply) => TryRead(ref reader, out reply, 0);

    private static bool TryRead(ref SequenceReader<byte> reader, out RedisReply reply, int depth)
    {
        reply = default;
        if (!reader.TryRead(out var type))
        {
            return false;
        }

        if (!reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8))
        {
            if (reader.Remaining > MaxLineLength)
            {
                throw new InvalidDataException("A reply line is longer than 1 MiB.");
            }

            return false;
        }

        switch (type)
        {
            case (byte)'+':
                reply = RedisReply.SimpleString(Encoding.UTF8.GetString(line));
                return true;
            case (byte)'-':
                reply = RedisReply.Error(Encoding.UTF8.GetString(line));
                return true;
            case (byte)':':
                reply = RedisReply.FromInteger(ParseInteger(line));
                return true;
            case (byte)'$':
                return TryReadBulk(ref reader, ParseInteger(line), out reply);
            case (byte)'*':
                return TryReadArray(ref reader, ParseInteger(line), depth, out reply);
            default:
                throw new InvalidDataException($"Unknown RESP type byte 0x{type:x2}.");
        }
    }

    private static bool TryReadBulk(ref SequenceReader<byte> reader, long length, out RedisReply reply)
    {
        reply = default;
        if (length == -1)
        {
            reply = RedisReply.Bulk(null);
            return true;
        }

        if (length is < 0 or > int.MaxValue - 64)
        {
            throw new InvalidDataException($"Invalid bulk string length {length}.");
        }

        if (reader.Remaining < length + 2)
        {
            return false;
        }

        var bytes = GC.AllocateUninitializedArray<byte>((int)length);
        reader.TryCopyTo(bytes);
        reader.Advance(length);
        if (!reader.IsNext("\r\n"u8, advancePast: true))
        {
            throw new InvalidDataException("A bulk string does not end with CR LF.");
        }

        reply = RedisReply.Bulk(bytes);
        return true;
    }

    private static bool TryReadArray(ref SequenceReader<byte> reader, long count, int depth, out RedisReply reply)
    {
        reply = default;
        if (count == -1)
        {
            reply = RedisReply.FromArray(null);
            return true;
        }

        if (count is < 0 or > int.MaxValue)
        {
            throw new InvalidDataException($"Invalid array length {count}.");
        }

        if (depth >= MaxDepth)
        {
            throw new InvalidDataException($"Arrays are nested deeper than {MaxDepth}.");
        }

        // Every element takes at least three bytes ("+\r\n"): wait for them before allocating.
        if (reader.Remaining < count * 3)
        {
            return false;
        }

        var elements = count == 0 ? [] : new RedisReply[count];
        for (var i = 0; i < elements.Length; i++)
        {
            if (!TryRead(ref reader, out elements[i], depth + 1))
            {
                return false;
            }
        }

        reply = RedisReply.FromArray(elements);
        return true;
    }

    private static long ParseInteger(ReadOnlySequence<byte> line)
    {
        if (line.IsSingleSegment)
        {
            return ParseInteger(line.FirstSpan);
        }

        if (line.Length > 20)
        {
            throw new InvalidDataException("An integer line is too long.");
        }

        Span<byte> buffer = stackalloc byte[20];
        line.CopyTo(buffer);
        return ParseInteger(buffer[..(int)line.Length]);
    }

    private static long ParseInteger(ReadOnlySpan<byte> span) =>
        Utf8Parser.TryParse(span, out long value, out var consumed) && consumed == span.Length
            ? value
            : throw new InvalidDataException("An integer line does not hold an integer.");
}
