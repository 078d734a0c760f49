using OtpVerification.Core.Tests.Stores;
using OtpVerification.Redis.Tests.Infrastructure;
using OtpVerification.Stores;

namespace OtpVerification.Redis.Tests.Stores;

/// <summary>The shared store contract, run unchanged against a real redis-server.</summary>
public sealed class RedisStoreContractTests(RedisServerFixture redis) : PendingRegistrationStoreContract, IClassFixture<RedisServerFixture>
{
    /// <inheritdoc />
    protected override IPendingRegistrationStore CreateStore() => redis.CreateStore(Time);
}
