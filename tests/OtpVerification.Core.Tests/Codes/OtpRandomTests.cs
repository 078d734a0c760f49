using System.Reflection;

namespace OtpVerification.Core.Tests.Codes;

/// <summary>
/// The block-buffered random source of flow ids, nonces and code digits: every value distinct,
/// each byte handed out once and wiped from the block, block boundaries and large values alike.
/// </summary>
public sealed class OtpRandomTests
{
    [Fact]
    public void Fill_ManySmallValuesAcrossBlockBoundaries_AreAllDistinct()
    {
        // 16-byte values: 10,000 of them cross the 512-byte block about 300 times.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var value = new byte[16];
        for (var i = 0; i < 10_000; i++)
        {
            OtpRandom.Fill(value);
            seen.Add(Convert.ToHexString(value)).Should().BeTrue("a random 128-bit value never repeats");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(12)]
    [InlineData(128)]
    [InlineData(129)]
    [InlineData(4096)]
    public void Fill_AnySize_FillsEveryByte(int size)
    {
        // Over many draws, every position of the value takes more than one value (none is left as it was).
        var distinctAt = Enumerable.Range(0, size).Select(_ => new HashSet<byte>()).ToArray();
        var value = new byte[size];
        for (var draw = 0; draw < 64; draw++)
        {
            Array.Fill(value, (byte)0xAB);
            OtpRandom.Fill(value);
            for (var i = 0; i < size; i++)
            {
                distinctAt[i].Add(value[i]);
            }
        }

        distinctAt.Should().OnlyContain(s => s.Count > 8);
    }

    [Fact]
    public void Fill_ServedBytes_AreWipedFromTheBlock()
    {
        var value = new byte[16];
        OtpRandom.Fill(value);
        var block = (byte[])typeof(OtpRandom).GetField("t_block", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
        var used = (int)typeof(OtpRandom).GetField("t_used", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;

        used.Should().BeGreaterThanOrEqualTo(16);
        block.AsSpan(0, used).ToArray().Should().OnlyContain(b => b == 0, "a value handed out is not left behind in memory");
        block.AsSpan(used).ToArray().Count(b => b != 0).Should().BeGreaterThan((block.Length - used) / 2, "the rest of the block is still unused randomness");
    }

    [Fact]
    public void Fill_Block_IsNeverMovedByTheGarbageCollector()
    {
        // The block holds the bytes of codes and flow ids not yet handed out. Wiping what is served
        // only helps if the block is the one copy: a compacting collection that moves it leaves the
        // old copy, future codes included, in freed memory that nothing wipes.
        var moved = true;
        var thread = new Thread(() =>
        {
            OtpRandom.Fill(new byte[16]);
            var block = (byte[])typeof(OtpRandom).GetField("t_block", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
            var before = System.Runtime.InteropServices.Marshal.UnsafeAddrOfPinnedArrayElement(block, 0);
            for (var i = 0; i < 3; i++)
            {
                _ = new byte[100_000];
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            }

            moved = before != System.Runtime.InteropServices.Marshal.UnsafeAddrOfPinnedArrayElement(block, 0);
            GC.KeepAlive(block);
        });
        thread.Start();
        thread.Join();

        moved.Should().BeFalse("the block of unserved random bytes must stay where it is, so wiping it leaves no copy");
    }

    [Fact]
    public void Digits_HundredThousand_AreUniform()
    {
        var counts = new int[10];
        for (var i = 0; i < 10_000; i++)
        {
            foreach (var c in OtpRandom.Digits(10))
            {
                counts[c - '0']++;
            }
        }

        // 100,000 digits: each expected 10,000 times, standard deviation about 95; six of them is far outside chance.
        counts.Should().OnlyContain(n => n > 10_000 - 570 && n < 10_000 + 570, string.Join(",", counts));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65)]
    public void Digits_LengthOutOfRange_Throws(int length)
    {
        var act = () => OtpRandom.Digits(length);

        act.Should().Throw<ArgumentOutOfRangeException>();
    }
}
