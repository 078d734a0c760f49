using System.Reflection;
using Microsoft.Extensions.Options;

namespace OtpVerification.Core.Tests.Codes;

/// <summary>The Core code protector's per-thread cipher.</summary>
public sealed class AesGcmOtpCodeProtectorTests
{
    [Fact]
    public void Protect_AfterACipherCouldNotBeMadeOnTheThread_StillWorks()
    {
        // The thread's cipher is replaced by disposing it and making the next one. If making it
        // fails, the key must not still point at the disposed cipher, or every later protect and
        // resend on this thread throws.
        var protector = new AesGcmOtpCodeProtector(Options.Create(new OtpVerificationOptions()));
        var cipher = typeof(AesGcmOtpCodeProtector).GetMethod("Cipher", BindingFlags.NonPublic | BindingFlags.Static)!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                protector.Protect(OtpPurpose.Signup, "ana@example.com", "123456");

                // A cipher that cannot be made (here: a key of the wrong length).
                var make = () => cipher.Invoke(null, [new byte[7]]);
                make.Should().Throw<TargetInvocationException>();

                var blob = protector.Protect(OtpPurpose.Signup, "ana@example.com", "123456");
                protector.TryUnprotect(OtpPurpose.Signup, "ana@example.com", blob, out var code).Should().BeTrue();
                code.Should().Be("123456");
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
}
