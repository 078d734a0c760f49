using OtpVerification.Stores;

namespace OtpVerification.Redis.Tests.Infrastructure;

/// <summary>Builds keys, code hashes and registrations for store tests.</summary>
internal static class Registrations
{
    /// <summary>One minute cooldown, five sends an hour: the defaults.</summary>
    public static readonly SendPolicy Policy = new(TimeSpan.FromMinutes(1), 5, TimeSpan.FromHours(1));

    public static readonly HmacOtpCodeHasher Hasher = new(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    /// <summary>The flow id <see cref="Create"/> stores unless told otherwise.</summary>
    public const string Flow = "flow-1";

    public static PendingKey NewKey(OtpPurpose purpose = OtpPurpose.Signup) =>
        new(purpose, $"user-{Guid.NewGuid():N}@example.com");

    public static byte[] Hash(PendingKey key, string code) => Hasher.Hash(key.Purpose, key.Address, code);

    public static PendingRegistration Create(
        PendingKey key,
        DateTimeOffset now,
        string code = "123456",
        string? deviceId = null,
        int attempts = 5,
        TimeSpan? codeLifetime = null,
        TimeSpan? lifetime = null,
        string? phone = null,
        byte[]? payload = null,
        string flowId = Flow,
        bool decoy = false)
    {
        var destinations = new List<OtpDestination> { new(OtpChannel.Email, key.Address) };
        if (phone is not null)
        {
            destinations.Add(new OtpDestination(OtpChannel.Sms, phone));
        }

        return new PendingRegistration
        {
            Key = key,
            FlowId = flowId,
            CodeHash = Hash(key, code),
            CodeExpiresAt = now + (codeLifetime ?? TimeSpan.FromMinutes(10)),
            ExpiresAt = now + (lifetime ?? TimeSpan.FromMinutes(30)),
            AttemptsLeft = attempts,
            Destinations = destinations,
            DeliveredTo = destinations[0],
            DeviceId = deviceId,
            Payload = payload ?? [1, 2, 3, 0, 255],
            Decoy = decoy,
        };
    }

    /// <summary>Verifies one code hash for a flow (<see cref="Flow"/> unless told otherwise).</summary>
    public static ValueTask<StoreVerifyResult> VerifyAsync(this IPendingRegistrationStore store, PendingKey key, byte[] codeHash, string? deviceId, DateTimeOffset now, string flowId = Flow) =>
        store.VerifyAndConsumeAsync(key, flowId, [codeHash], deviceId, now);
}
