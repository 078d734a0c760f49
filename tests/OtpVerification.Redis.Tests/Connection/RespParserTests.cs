using System.Buffers;
using System.Text;
using OtpVerification.Redis.Connection;

namespace OtpVerification.Redis.Tests.Connection;

public sealed class RespParserTests
{
    [Fact]
    public void TryRead_SimpleString_ReturnsText()
    {
        var reply = ReadOne("+OK\r\n"u8.ToArray());

        reply.Kind.Should().Be(RedisReplyKind.SimpleString);
        reply.AsString().Should().Be("OK");
    }

    [Fact]
    public void TryRead_Error_ReturnsMessage()
    {
        var reply = ReadOne("-ERR unknown command 'NOPE'\r\n"u8.ToArray());

        reply.IsError.Should().BeTrue();
        reply.ErrorMessage.Should().Be("ERR unknown command 'NOPE'");
    }

    [Theory]
    [InlineData(":0\r\n", 0L)]
    [InlineData(":-42\r\n", -42L)]
    [InlineData(":9223372036854775807\r\n", long.MaxValue)]
    [InlineData(":-9223372036854775808\r\n", long.MinValue)]
    public void TryRead_Integer_ReturnsValue(string wire, long expected)
    {
        ReadOne(Encoding.ASCII.GetBytes(wire)).Integer.Should().Be(expected);
    }

    [Fact]
    public void TryRead_BinaryBulkWithCrLfInside_ReturnsExactBytes()
    {
        var payload = Enumerable.Range(0, 256).Select(i => (byte)i).Concat("\r\n\r\n"u8.ToArray()).ToArray();
        var wire = Encoding.ASCII.GetBytes($"${payload.Length}\r\n").Concat(payload).Concat("\r\n"u8.ToArray()).ToArray();

        ReadOne(wire).Bytes.Should().Equal(payload);
    }

    [Fact]
    public void TryRead_EmptyBulk_ReturnsEmptyArray()
    {
        var reply = ReadOne("$0\r\n\r\n"u8.ToArray());

        reply.IsNull.Should().BeFalse();
        reply.Bytes.Should().BeEmpty();
    }

    [Fact]
    public void TryRead_NullBulk_IsNull()
    {
        var reply = ReadOne("$-1\r\n"u8.ToArray());

        reply.Kind.Should().Be(RedisReplyKind.BulkString);
        reply.IsNull.Should().BeTrue();
    }

    [Fact]
    public void TryRead_NullArray_IsNull()
    {
        var reply = ReadOne("*-1\r\n"u8.ToArray());

        reply.Kind.Should().Be(RedisReplyKind.Array);
        reply.IsNull.Should().BeTrue();
    }

    [Fact]
    public void TryRead_NestedArrayOfEveryType_ReadsTree()
    {
        var reply = ReadOne(NestedWire);

        var top = reply.Elements!;
        top.Should().HaveCount(5);
        top[0].Integer.Should().Be(1);
        top[1].AsString().Should().Be("two");
        top[2].IsNull.Should().BeTrue();
        top[3].Elements!.Select(e => e.ToString()).Should().Equal("+OK", "-ERR inner", "*0", "*-1");
        top[4].Elements![0].Elements![0].AsString().Should().Be("deep");
    }

    [Fact]
    public void TryRead_EveryProperPrefix_ReturnsFalse()
    {
        for (var length = 0; length < NestedWire.Length; length++)
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(NestedWire, 0, length));
            RespParser.TryRead(ref reader, out _).Should().BeFalse($"{length} of {NestedWire.Length} bytes are not a whole reply");
        }
    }

    [Fact]
    public void TryRead_OneByteSegments_ReadsSameTree()
    {
        var reader = new SequenceReader<byte>(Segmented(NestedWire, 1));

        RespParser.TryRead(ref reader, out var reply).Should().BeTrue();
        reader.End.Should().BeTrue();
        reply.Elements![4].Elements![0].Elements![0].AsString().Should().Be("deep");
    }

    [Fact]
    public void TryRead_SeveralReplies_ReadsThemInOrder()
    {
        var reader = new SequenceReader<byte>(Segmented(":1\r\n+two\r\n$5\r\nthree\r\n"u8.ToArray(), 3));
        var texts = new List<string?>();
        while (RespParser.TryRead(ref reader, out var reply))
        {
            texts.Add(reply.AsString());
        }

        texts.Should().Equal("1", "two", "three");
    }

    [Theory]
    [InlineData("?oops\r\n")]
    [InlineData(":12a\r\n")]
    [InlineData("$3\r\nabcXY")]
    [InlineData("$-2\r\n")]
    public void TryRead_MalformedInput_Throws(string wire)
    {
        var act = () =>
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(wire)));
            RespParser.TryRead(ref reader, out _);
        };

        act.Should().Throw<InvalidDataException>();
    }

    [Fact]
    public void WriteCommand_MixedArguments_WritesArrayOfBulkStrings()
    {
        var output = new ArrayBufferWriter<byte>();

        RespWriter.WriteCommand(output, ["SET", "k\u00e9y", new byte[] { 0, 13, 10 }, -12L]);

        output.WrittenSpan.ToArray().Should().Equal(
            Encoding.UTF8.GetBytes("*4\r\n$3\r\nSET\r\n$4\r\nk\u00e9y\r\n$3\r\n").Concat(new byte[] { 0, 13, 10 }).Concat("\r\n$3\r\n-12\r\n"u8.ToArray()));
    }

    private static readonly byte[] NestedWire =
        "*5\r\n:1\r\n$3\r\ntwo\r\n$-1\r\n*4\r\n+OK\r\n-ERR inner\r\n*0\r\n*-1\r\n*1\r\n*1\r\n$4\r\ndeep\r\n"u8.ToArray();

    private static RedisReply ReadOne(byte[] wire)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(wire));
        RespParser.TryRead(ref reader, out var reply).Should().BeTrue();
        reader.End.Should().BeTrue("the whole reply is consumed");
        return reply;
    }

    private static ReadOnlySequence<byte> Segmented(byte[] data, int size)
    {
        Segment? first = null, last = null;
        for (var i = 0; i < data.Length; i += size)
        {
            var memory = data.AsMemory(i, Math.Min(size, data.Length - i));
            if (first is null)
            {
                first = last = new Segment(memory, 0);
            }
            else
            {
                last = last!.Append(memory);
            }
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
