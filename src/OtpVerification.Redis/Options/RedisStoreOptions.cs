using System.Net.Security;

namespace OtpVerification.Redis;

/// <summary>
/// The Redis store's settings: where Redis is (<c>ConnectionStrings:Redis</c>) and the prefix of
/// its keys. Validated at start-up.
/// </summary>
public sealed class RedisStoreOptions
{
    /// <summary>The default <see cref="KeyPrefix"/>.</summary>
    public const string DefaultKeyPrefix = "otp:";

    /// <summary>
    /// The connection string, in StackExchange.Redis syntax: comma-separated endpoints (the first
    /// reachable one is used) and options, for example
    /// <c>redis:6379,user=app,password=…,ssl=true,defaultDatabase=2,connectTimeout=5000,syncTimeout=5000</c>.
    /// Usually bound from <c>ConnectionStrings:Redis</c>. Required.
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>
    /// Put in front of every key (default <c>otp:</c>), so several apps can share a database and an
    /// ACL can confine this one to <c>~otp:*</c>. Must not contain <c>{</c> or <c>}</c>, which
    /// would break the keys' Redis Cluster hash tags.
    /// </summary>
    public string KeyPrefix { get; set; } = DefaultKeyPrefix;

    /// <summary>
    /// Checks the server's TLS certificate in place of the operating system's validation, for a
    /// private certificate authority or certificate pinning. Unset: the system's validation applies.
    /// </summary>
    public RemoteCertificateValidationCallback? CertificateValidation { get; set; }
}
