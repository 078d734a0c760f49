using System.Reflection;
using FluentAssertions;
using OtpVerification.Stores;
using Xunit;

namespace OtpVerification.Core.Tests.Engine;

/// <summary>
/// The engine's answers can grow without breaking callers: no positional constructor or
/// <c>Deconstruct</c>, and the verify answer never hands out the stored entry.
/// </summary>
public sealed class OtpResultShapeTests
{
    [Theory]
    [InlineData(typeof(OtpSendResult))]
    [InlineData(typeof(OtpVerifyResult))]
    public void Result_HasNoPositionalConstructorOrDeconstruct(Type type)
    {
        type.GetConstructors().Should().NotContain(c => c.GetParameters().Length > 0, "a positional constructor breaks every caller when a field is added");
        type.GetMethods().Should().NotContain(m => m.Name == "Deconstruct");
    }

    [Theory]
    [InlineData(typeof(OtpVerifyResult))]
    [InlineData(typeof(OtpVerifiedRegistration))]
    public void VerifyAnswer_ExposesNoPendingRegistration(Type type)
    {
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.PropertyType)
            .Should().NotContain(typeof(PendingRegistration));
    }

    [Fact]
    public void OtpVerifiedRegistration_HasNoPublicConstructor()
    {
        typeof(OtpVerifiedRegistration).GetConstructors().Should().BeEmpty("only the engine creates one, from the entry it consumed");
    }
}
