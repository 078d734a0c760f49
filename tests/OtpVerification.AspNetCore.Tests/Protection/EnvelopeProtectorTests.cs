using Microsoft.AspNetCore.DataProtection;
using OtpVerification.Testing;
using Microsoft.Extensions.Time.Testing;

namespace OtpVerification.AspNetCore.Tests.Protection;

/// <summary>Envelope encryption of payloads and kept codes: a data key wrapped by Data Protection, AES-GCM per value.</summary>
public sealed class EnvelopeProtectorTests
{
    private static readonly byte[] Plain = "the pending form"u8.ToArray();
    private static readonly byte[] Binding = [1, 2, 3];

    [Fact]
    public void Protect_ThenUnprotect_GivesThePlaintextBack()
    {
        var envelope = new EnvelopeProtector(new EphemeralDataProtectionProvider(), "test");

        var blob = envelope.Protect(Plain, Binding);

        envelope.TryUnprotect(blob, Binding, out var plain).Should().BeTrue();
        plain.Should().Equal(Plain);
        blob.AsSpan().IndexOf(Plain).Should().Be(-1, "the value is encrypted");
    }

    [Fact]
    public void Protect_AfterACipherCouldNotBeMadeOnTheThread_StillWorks()
    {
        // A thread's four cached ciphers are replaced in turn by disposing one and making the next.
        // If making it fails, the slot must not still name its old data key, or every later value
        // sealed or opened under that key on this thread throws.
        var envelope = new EnvelopeProtector(new EphemeralDataProtectionProvider(), "test");
        var cipher = typeof(EnvelopeProtector).GetMethod("Cipher", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                // The envelope's data key takes slot 0, three other keys the rest: the next miss replaces slot 0.
                var blob = envelope.Protect(Plain, Binding);
                for (var i = 0; i < 3; i++)
                {
                    cipher.Invoke(null, [new byte[32]]);
                }

                // A cipher that cannot be made (here: a key of the wrong length) in place of the envelope's.
                var make = () => cipher.Invoke(null, [new byte[7]]);
                make.Should().Throw<System.Reflection.TargetInvocationException>();

                envelope.TryUnprotect(envelope.Protect(Plain, Binding), Binding, out var plain).Should().BeTrue();
                plain.Should().Equal(Plain);
                envelope.TryUnprotect(blob, Binding, out _).Should().BeTrue();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();

        failure.Should().BeNull();
    }

    [Fact]
    public void Unprotect_WithOtherAssociatedData_Fails()
    {
        var envelope = new EnvelopeProtector(new EphemeralDataProtectionProvider(), "test");

        envelope.TryUnprotect(envelope.Protect(Plain, Binding), [9], out _).Should().BeFalse("a value is bound to its entry");
    }

    [Fact]
    public void Unprotect_Tampered_Fails()
    {
        var envelope = new EnvelopeProtector(new EphemeralDataProtectionProvider(), "test");
        var blob = envelope.Protect(Plain, Binding);
        blob[^1] ^= 1;

        envelope.TryUnprotect(blob, Binding, out _).Should().BeFalse();
    }

    [Fact]
    public void Unprotect_OnAnInstanceWithAnotherKeyRing_Fails()
    {
        var blob = new EnvelopeProtector(new EphemeralDataProtectionProvider(), "test").Protect(Plain, Binding);

        new EnvelopeProtector(new EphemeralDataProtectionProvider(), "test").TryUnprotect(blob, Binding, out _).Should().BeFalse("the data key is wrapped by a key ring this instance does not have");
    }

    [Fact]
    public void Unprotect_OnAnotherInstanceSharingTheKeyRing_Works()
    {
        var ring = new EphemeralDataProtectionProvider();
        var blob = new EnvelopeProtector(ring, "test").Protect(Plain, Binding);

        new EnvelopeProtector(ring, "test").TryUnprotect(blob, Binding, out var plain).Should().BeTrue();
        plain.Should().Equal(Plain);
    }

    [Fact]
    public void DataKey_RotatesHourly_AndOlderValuesStillOpen()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var envelope = new EnvelopeProtector(new EphemeralDataProtectionProvider(), "test", clock);
        var early = envelope.Protect(Plain, Binding);
        clock.Advance(TimeSpan.FromMinutes(61));

        var late = envelope.Protect(Plain, Binding);

        late.AsSpan(0, 64).SequenceEqual(early.AsSpan(0, 64)).Should().BeFalse("a new data key (and its wrapped form) after an hour");
        envelope.TryUnprotect(early, Binding, out _).Should().BeTrue();
        envelope.TryUnprotect(late, Binding, out _).Should().BeTrue();
    }
}
