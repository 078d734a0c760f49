using System.Diagnostics;
using System.Text;
using OtpVerification.Redis.Connection;
using OtpVerification.Redis.Tests.Infrastructure;
using OtpVerification.Stores;

namespace OtpVerification.Redis.Tests.Connection;

public sealed class RedisConnectionTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task ExecuteAsync_Set_ReturnsSimpleString()
    {
        var reply = await redis.Admin.ExecuteAsync(["SET", Key(), "v"]);

        reply.Kind.Should().Be(RedisReplyKind.SimpleString);
        reply.AsString().Should().Be("OK");
    }

    [Fact]
    public async Task ExecuteAsync_UnknownCommand_ReturnsErrorReply()
    {
        var reply = await redis.Admin.ExecuteAsync(["NOSUCHCOMMAND", "x"]);

        reply.IsError.Should().BeTrue();
        reply.ErrorMessage.Should().StartWith("ERR unknown command");
    }

    [Fact]
    public async Task ExecuteAsync_Incr_ReturnsInteger()
    {
        var key = Key();
        await redis.Admin.ExecuteAsync(["SET", key, long.MaxValue - 1]);

        (await redis.Admin.ExecuteAsync(["INCR", key])).Integer.Should().Be(long.MaxValue);
    }

    [Fact]
    public async Task ExecuteAsync_GetMissingKey_ReturnsNullBulk()
    {
        var reply = await redis.Admin.ExecuteAsync(["GET", Key()]);

        reply.Kind.Should().Be(RedisReplyKind.BulkString);
        reply.IsNull.Should().BeTrue();
    }

    [Fact]
    public async Task ExecuteAsync_BinaryValue_RoundTripsEveryByte()
    {
        var key = Key();
        var value = Enumerable.Range(0, 1024).Select(i => (byte)(i * 7)).Concat("\r\n$-1\r\n*0\r\n"u8.ToArray()).ToArray();
        await redis.Admin.ExecuteAsync(["SET", key, value]);

        (await redis.Admin.ExecuteAsync(["GET", key])).Bytes.Should().Equal(value);
    }

    [Fact]
    public async Task ExecuteAsync_EmptyValue_RoundTripsAsEmptyNotNull()
    {
        var key = Key();
        await redis.Admin.ExecuteAsync(["SET", key, Array.Empty<byte>()]);

        var reply = await redis.Admin.ExecuteAsync(["GET", key]);

        reply.IsNull.Should().BeFalse();
        reply.Bytes.Should().BeEmpty();
    }

    [Fact]
    public async Task ExecuteAsync_FiveMegabyteValue_RoundTrips()
    {
        var key = Key();
        var value = new byte[5 * 1024 * 1024];
        new Random(42).NextBytes(value);

        (await redis.Admin.ExecuteAsync(["SET", key, value])).AsString().Should().Be("OK");
        var reply = await redis.Admin.ExecuteAsync(["GET", key]);

        reply.Bytes.AsSpan().SequenceEqual(value).Should().BeTrue();
    }

    [Fact]
    public async Task ExecuteAsync_ScriptReturningNestedTables_ReturnsNestedArrays()
    {
        var reply = await redis.Admin.ExecuteAsync(["EVAL", "return {1, 'two', {3, {'four', {}}}, redis.status_reply('FINE'), redis.error_reply('BAD inner')}", 0]);

        var top = reply.Elements!;
        top[0].Integer.Should().Be(1);
        top[1].AsString().Should().Be("two");
        top[2].Elements![0].Integer.Should().Be(3);
        top[2].Elements![1].Elements![0].AsString().Should().Be("four");
        top[2].Elements![1].Elements![1].Elements.Should().BeEmpty();
        top[3].Kind.Should().Be(RedisReplyKind.SimpleString);
        top[4].ErrorMessage.Should().Be("BAD inner");
    }

    [Fact]
    public async Task ExecuteAsync_ScriptReturningFalseInTable_ReturnsNullElement()
    {
        var reply = await redis.Admin.ExecuteAsync(["EVAL", "return {1, false, 3}", 0]);

        reply.Elements!.Select(e => e.IsNull).Should().Equal(false, true, false);
    }

    [Fact]
    public async Task ExecuteAsync_BlockingPopTimesOut_ReturnsNullArray()
    {
        var reply = await redis.Admin.ExecuteAsync(["BLPOP", Key(), "0.01"]);

        reply.Kind.Should().Be(RedisReplyKind.Array);
        reply.IsNull.Should().BeTrue();
    }

    [Fact]
    public async Task ExecuteAsync_ThousandConcurrentCallers_EachGetsItsOwnReply()
    {
        var connection = redis.CreateConnection("name=pipeline-test");
        var prefix = Key();

        var replies = await Task.WhenAll(Enumerable.Range(0, 1000).Select(i => Task.Run(async () =>
        {
            var kind = i % 3;
            var reply = kind switch
            {
                0 => await connection.ExecuteAsync(["ECHO", $"echo-{i}"]),
                1 => await connection.ExecuteAsync(["INCRBY", $"{prefix}:{i}", i]),
                _ => await connection.ExecuteAsync(["EVAL", "return {ARGV[1], tonumber(ARGV[1]) * 2}", 0, i]),
            };
            return (i, kind, reply);
        })));

        foreach (var (i, kind, reply) in replies)
        {
            switch (kind)
            {
                case 0:
                    reply.AsString().Should().Be($"echo-{i}");
                    break;
                case 1:
                    reply.Integer.Should().Be(i);
                    break;
                default:
                    reply.Elements![0].AsString().Should().Be(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    reply.Elements![1].Integer.Should().Be(i * 2L);
                    break;
            }
        }

        var clients = (await redis.AdminAsync("CLIENT", "LIST")).AsString()!;
        clients.Split('\n').Count(line => line.Contains("name=pipeline-test ", StringComparison.Ordinal)).Should().Be(1, "all callers share one connection");
    }

    [Fact]
    public async Task ExecuteAsync_DefaultDatabase_SelectsIt()
    {
        var connection = redis.CreateConnection("defaultDatabase=5");
        var key = Key();

        await connection.ExecuteAsync(["SET", key, "in-5"]);

        (await redis.AdminAsync("EXISTS", key)).Integer.Should().Be(0);
        (await connection.ExecuteAsync(["GET", key])).AsString().Should().Be("in-5");
        (await connection.ExecuteAsync(["CLIENT", "INFO"])).AsString().Should().Contain(" db=5 ");
    }

    [Fact]
    public async Task ExecuteAsync_AclUser_AuthenticatesAsThatUser()
    {
        var user = "app" + Guid.NewGuid().ToString("N")[..6];
        await redis.AdminAsync("ACL", "SETUSER", user, "on", ">user-secret", "~*", "+@all");
        var connection = new RedisConnection(RedisConnectionSettings.Parse($"127.0.0.1:{redis.Server.Port},user={user},password=user-secret"));
        await using var _ = connection;

        (await connection.ExecuteAsync(["ACL", "WHOAMI"])).AsString().Should().Be(user);
    }

    [Fact]
    public async Task ExecuteAsync_WrongPassword_ThrowsUnavailableNamingTheRefusal()
    {
        await using var connection = new RedisConnection(RedisConnectionSettings.Parse($"127.0.0.1:{redis.Server.Port},password=wrong"));

        var act = async () => await connection.ExecuteAsync(["PING"]);

        (await act.Should().ThrowAsync<OtpStoreUnavailableException>()).Which.Message.Should().Contain("refused the password").And.Contain("WRONGPASS").And.NotContain("wrong,");
    }

    [Fact]
    public async Task ExecuteAsync_WrongAclPassword_ThrowsUnavailableNamingTheUser()
    {
        await using var connection = new RedisConnection(RedisConnectionSettings.Parse($"127.0.0.1:{redis.Server.Port},user=nobody,password=wrong"));

        var act = async () => await connection.ExecuteAsync(["PING"]);

        (await act.Should().ThrowAsync<OtpStoreUnavailableException>()).Which.Message.Should().Contain("user 'nobody'").And.Contain("WRONGPASS");
    }

    [Fact]
    public async Task ExecuteAsync_NoPasswordForProtectedServer_ThrowsUnavailableAskingForOne()
    {
        await using var connection = new RedisConnection(RedisConnectionSettings.Parse($"127.0.0.1:{redis.Server.Port}"));

        var act = async () => await connection.ExecuteAsync(["PING"]);

        (await act.Should().ThrowAsync<OtpStoreUnavailableException>()).Which.Message.Should().Contain("NOAUTH").And.Contain("password=");
    }

    [Fact]
    public async Task ExecuteAsync_FirstEndpointUnreachable_UsesTheNext()
    {
        var closed = ClosedPort();
        await using var connection = new RedisConnection(RedisConnectionSettings.Parse($"127.0.0.1:{closed},127.0.0.1:{redis.Server.Port},password={redis.Server.Password}"));

        (await connection.ExecuteAsync(["PING"])).AsString().Should().Be("PONG");
    }

    [Fact]
    public async Task ExecuteAsync_NoEndpointReachable_ThrowsUnavailableListingThem()
    {
        var closed = ClosedPort();
        await using var connection = new RedisConnection(RedisConnectionSettings.Parse($"127.0.0.1:{closed},connectTimeout=1000"));

        var act = async () => await connection.ExecuteAsync(["PING"]);

        (await act.Should().ThrowAsync<OtpStoreUnavailableException>()).Which.Message.Should().Contain($"127.0.0.1:{closed}");
    }

    [Fact]
    public async Task ExecuteAsync_ServerThatNeverAnswers_TimesOutOnceThenFailsFast()
    {
        // Accepts TCP connections and never says a word: each connect attempt takes the whole timeout.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start(100);
        var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        await using var connection = new RedisConnection(RedisConnectionSettings.Parse($"127.0.0.1:{port},connectTimeout=300"));

        var first = Stopwatch.StartNew();
        var act = async () => await connection.ExecuteAsync(["PING"]);
        (await act.Should().ThrowAsync<OtpStoreUnavailableException>()).Which.Message.Should().Contain("connectTimeout");
        first.Elapsed.Should().BeGreaterThan(TimeSpan.FromMilliseconds(250));

        for (var i = 0; i < 10; i++)
        {
            var watch = Stopwatch.StartNew();
            await act.Should().ThrowAsync<OtpStoreUnavailableException>();
            watch.Elapsed.Should().BeLessThan(TimeSpan.FromMilliseconds(150), "later calls do not wait for the retries");
            await Task.Delay(40);
        }
    }

    [Fact]
    public async Task ExecuteAsync_NoReplyWithinSyncTimeout_FailsThenRecovers()
    {
        var connection = redis.CreateConnection("syncTimeout=200");
        await connection.ExecuteAsync(["PING"]);
        var watch = Stopwatch.StartNew();

        // BLPOP holds the connection for 3 s: the command behind it cannot be answered in time.
        var blocked = connection.ExecuteAsync(["BLPOP", Key(), "3"]).AsTask();
        var act = async () => await blocked;

        (await act.Should().ThrowAsync<OtpStoreUnavailableException>()).Which.Message.Should().Contain("did not answer within 200 ms");
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2));
        (await EventuallyAsync(() => connection.ExecuteAsync(["PING"]).AsTask())).AsString().Should().Be("PONG");
    }

    [Fact]
    public async Task ExecuteAsync_ClientKilledMidRun_ReconnectsByItself()
    {
        var connection = redis.CreateConnection("name=kill-me");
        var key = Key();
        await connection.ExecuteAsync(["SET", key, 0]);
        var id = (await connection.ExecuteAsync(["CLIENT", "ID"])).Integer;

        using var stop = new CancellationTokenSource();
        var failures = 0;
        var successes = 0;
        var load = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await connection.ExecuteAsync(["INCR", key]);
                    Interlocked.Increment(ref successes);
                }
                catch (OtpStoreUnavailableException)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });
        await Task.Delay(50);
        (await redis.AdminAsync("CLIENT", "KILL", "ID", id)).Integer.Should().Be(1);
        var before = Volatile.Read(ref successes);
        await Task.Delay(200);
        await stop.CancelAsync();
        await load;

        Volatile.Read(ref successes).Should().BeGreaterThan(before, "commands succeed again after the kill");
        (await connection.ExecuteAsync(["CLIENT", "ID"])).Integer.Should().NotBe(id, "a new connection replaced the killed one");
    }

    [Fact]
    public async Task ExecuteAsync_AfterDispose_ThrowsObjectDisposed()
    {
        var connection = redis.CreateConnection();
        await connection.ExecuteAsync(["PING"]);
        await connection.DisposeAsync();

        var act = async () => await connection.ExecuteAsync(["PING"]);

        await act.Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public async Task Dispose_ClosesTheSocket()
    {
        var connection = redis.CreateConnection("name=dispose-me");
        await connection.ExecuteAsync(["PING"]);

        await connection.DisposeAsync();

        (await EventuallyAsync(async () =>
        {
            var list = (await redis.AdminAsync("CLIENT", "LIST")).AsString()!;
            return list.Contains("name=dispose-me ", StringComparison.Ordinal) ? throw new InvalidOperationException("still connected") : list;
        })).Should().NotContain("name=dispose-me ");
    }

    [Fact]
    public async Task EvalShaAsync_UnknownScript_FallsBackToEvalOnce()
    {
        IRedisConnection connection = redis.CreateConnection();
        var script = new RedisScript($"return 'fresh-{Guid.NewGuid():N}'");

        var first = await connection.EvalShaAsync(script, [], []);
        var second = await connection.EvalShaAsync(script, [], []);

        first.AsString().Should().StartWith("fresh-");
        second.AsString().Should().Be(first.AsString());
        (await redis.AdminAsync("SCRIPT", "EXISTS", script.Sha1)).Elements![0].Integer.Should().Be(1, "EVAL cached the script");
    }

    [Fact]
    public async Task EvalShaAsync_PassesKeysAndArguments()
    {
        IRedisConnection connection = redis.CreateConnection();
        var script = new RedisScript("return {KEYS[1], KEYS[2], ARGV[1], #ARGV}");

        var reply = await connection.EvalShaAsync(script, ["k1", "k2"], ["a1", new byte[] { 1, 2 }]);

        reply.Elements!.Select(e => e.AsString()).Should().Equal("k1", "k2", "a1", "2");
    }

    private static string Key() => "conn-test:" + Guid.NewGuid().ToString("N");

    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal static async Task<T> EventuallyAsync<T>(Func<Task<T>> action, int timeoutMs = 5000)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await action();
            }
            catch (Exception) when (watch.ElapsedMilliseconds < timeoutMs)
            {
                await Task.Delay(20);
            }
        }
    }
}
