namespace OtpVerification.MailKit.Tests.Infrastructure;

/// <summary>The test classes that share one plain MailDev.</summary>
[CollectionDefinition(Name)]
public sealed class MailDevCollection : ICollectionFixture<MailDevFixture>
{
    public const string Name = "MailDev";
}

/// <summary>The test classes that share one MailDev on implicit TLS with a password.</summary>
[CollectionDefinition(Name)]
public sealed class SecureMailDevCollection : ICollectionFixture<SecureMailDevFixture>
{
    public const string Name = "MailDev TLS";
}
