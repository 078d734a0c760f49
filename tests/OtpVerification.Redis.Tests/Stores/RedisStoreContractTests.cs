using OtpVerification.Core.Tests.Stores;
using OtpVerification.Redis.Tests.Infrastructure;
using OtpVerification.Stores;

namespace OtpVerification.Redis.Tests.Stores;

/// <summary>The shared store contract, run unchanged against a real standalone redis-server.</summary>
public sealed class RedisStoreContractTests(RedisServerFixture redis) : PendingRegistrationStoreContract, IClassFixture<RedisServerFixture>
{
    /// <inheritdoc />
    protected override IPendingRegistrationStore CreateStore() => redis.CreateStore(Time);
}

/// <summary>The shared store contract, run unchanged against a local Redis Cluster (3 masters, 3 replicas).</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterStoreContractTests(RedisClusterFixture cluster) : PendingRegistrationStoreContract
{
    /// <inheritdoc />
    protected override IPendingRegistrationStore CreateStore() => cluster.CreateStore(Time);
}
