using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using OtpVerification.Senders;

namespace OtpVerification.Core.Tests.Senders;

public sealed class DevOutboxTests
{
    private static readonly DateTimeOffset SentAt = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly DevOutbox _outbox = new() { WriteToConsole = false };

    [Fact]
    public void List_SeveralMessages_NewestFirst()
    {
        _outbox.Add(Message("ana@example.com", "first"));
        _outbox.Add(Message("ana@example.com", "second"));

        _outbox.List().Select(m => m.Body).Should().Equal("second", "first");
    }

    [Fact]
    public void List_ToAnUnnormalisedAddress_FindsItsMessages()
    {
        _outbox.Add(Message("ana@example.com", "for ana"));
        _outbox.Add(Message("bob@example.com", "for bob"));

        _outbox.List("  Ana@Example.com ").Should().ContainSingle().Which.Body.Should().Be("for ana");
    }

    [Fact]
    public void Add_BeyondCapacity_DropsTheOldest()
    {
        for (var i = 0; i <= DevOutbox.Capacity; i++)
        {
            _outbox.Add(Message("ana@example.com", i.ToString(CultureInfo.InvariantCulture)));
        }

        _outbox.List().Should().HaveCount(DevOutbox.Capacity).And.NotContain(m => m.Body == "0");
    }

    [Fact]
    public async Task SendAsync_Message_PutsTheCodeInTheOutboxBody()
    {
        var sender = new DevOutboxSender(OtpChannel.Sms, _outbox, new DefaultOtpMessageFormatter(), NullLogger<DevOutboxSender>.Instance);

        await sender.SendAsync(new OtpMessage
        {
            To = "+14155550123",
            Channel = OtpChannel.Sms,
            Purpose = OtpPurpose.Signup,
            Code = "012345",
            ExpiresIn = TimeSpan.FromMinutes(10),
            SentAt = SentAt,
            Culture = CultureInfo.InvariantCulture,
            AppName = "Test",
        });

        _outbox.List("+14155550123").Should().ContainSingle().Which.Body.Should().Contain("012345");
    }

    private static DevOutboxMessage Message(string to, string body) => new(to, "email", "signup", "subject", body, SentAt);
}
