using System.Security.Cryptography;

namespace OtpVerification;

/// <summary>
/// Cryptographically secure random bytes for the small values of a request (flow ids, nonces,
/// code digits), drawn from <see cref="RandomNumberGenerator"/> a block at a time. Each
/// <see cref="RandomNumberGenerator.Fill"/> call costs about the same for 16 bytes as for 512 (about
/// 2 µs on the Linux machines measured; benchmarks/RESULTS.md), and a signup start needs four or
/// five small values: a per-thread block of 512 bytes serves about thirty of them per call. Each
/// byte is handed out once and wiped from the block as it is, and the block is pinned so that no
/// moved-away copy of it outlives the wipe; a value larger than a quarter block is drawn directly.
/// </summary>
/// <remarks>Compiled into each package that uses it (a linked source file), so no package depends on another's internals.</remarks>
internal static class OtpRandom
{
    private const int BlockSize = 512;

    [ThreadStatic]
    private static byte[]? t_block;

    [ThreadStatic]
    private static int t_used;

    /// <summary>Fills <paramref name="destination"/> with random bytes.</summary>
    public static void Fill(Span<byte> destination)
    {
        if (destination.Length > BlockSize / 4)
        {
            RandomNumberGenerator.Fill(destination);
            return;
        }

        var block = t_block;
        if (block is null)
        {
            // Pinned (the pinned object heap): a block the collector may move leaves its old copy,
            // bytes of codes not yet handed out included, in freed memory that nothing wipes.
            block = t_block = GC.AllocateArray<byte>(BlockSize, pinned: true);
            t_used = BlockSize;
        }

        var used = t_used;
        if (BlockSize - used < destination.Length)
        {
            RandomNumberGenerator.Fill(block);
            used = 0;
        }

        var served = block.AsSpan(used, destination.Length);
        served.CopyTo(destination);
        CryptographicOperations.ZeroMemory(served);
        t_used = used + destination.Length;
    }

    /// <summary>Random bytes in a new array.</summary>
    public static byte[] GetBytes(int count)
    {
        var bytes = new byte[count];
        Fill(bytes);
        return bytes;
    }

    /// <summary>
    /// <paramref name="length"/> decimal digits, each of the ten equally likely: a byte is used
    /// only when below 250 (25 full rounds of ten), the others are drawn again.
    /// </summary>
    public static string Digits(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, 64);
        return string.Create(length, 0, static (chars, _) =>
        {
            Span<byte> draw = stackalloc byte[16];
            var next = draw.Length;
            for (var i = 0; i < chars.Length;)
            {
                if (next == draw.Length)
                {
                    Fill(draw);
                    next = 0;
                }

                var b = draw[next];
                draw[next++] = 0;
                if (b < 250)
                {
                    chars[i++] = (char)('0' + (b % 10));
                }
            }

            CryptographicOperations.ZeroMemory(draw);
        });
    }
}
