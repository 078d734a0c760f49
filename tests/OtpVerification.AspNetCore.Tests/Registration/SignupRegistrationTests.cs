using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace OtpVerification.AspNetCore.Tests.Registration;

/// <summary>
/// One signup form per app: <c>AddOtpSignup&lt;TForm&gt;()</c> refuses a second, different form
/// type, accepts the same one again, and <c>MapOtpSignup&lt;TForm&gt;()</c> maps only the form registered.
/// </summary>
public sealed class SignupRegistrationTests
{
    [Fact]
    public void AddOtpSignup_SecondDifferentFormType_ThrowsNamingBothForms()
    {
        var services = new ServiceCollection();
        services.AddOtpSignup<OtpSignupForm>();

        var act = () => services.AddOtpSignup<OtherForm>();

        act.Should().Throw<InvalidOperationException>()
            .WithMessage("*AddOtpSignup<OtherForm>()*AddOtpSignup<OtpSignupForm>()*one signup form*");
    }

    [Fact]
    public void AddOtpSignup_SameFormTypeTwice_RegistersOnceAndAppliesBothDelegates()
    {
        var services = new ServiceCollection();
        services.AddOtpSignup<OtpSignupForm>(o => o.Code.Length = 8).CompleteWith<RefusingCompletion>();
        services.AddOtpSignup<OtpSignupForm>(o => o.Messages.AppName = "Twice").CompleteWith<RefusingCompletion>();

        services.Count(d => d.ServiceType == typeof(OtpEngine)).Should().Be(1);
        services.Count(d => d.ServiceType == typeof(IOtpSignupCompletion<OtpSignupForm>)).Should().Be(1);
        using var provider = services.AddLogging().BuildServiceProvider();
        var options = provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<OtpVerificationOptions>>().Value;
        options.Code.Length.Should().Be(8);
        options.Messages.AppName.Should().Be("Twice");
    }

    [Fact]
    public async Task MapOtpSignup_FormTypeOtherThanRegistered_ThrowsNamingTheRegisteredForm()
    {
        await using var app = Build(s => s.AddOtpSignup<OtpSignupForm>().CompleteWith<RefusingCompletion>());

        var act = () => app.MapOtpSignup<OtherForm>();

        act.Should().Throw<InvalidOperationException>().WithMessage("*registered is OtpSignupForm*MapOtpSignup<OtpSignupForm>()*");
    }

    [Fact]
    public async Task MapOtpSignup_WithoutAddOtpSignup_ThrowsAskingForIt()
    {
        await using var app = Build(_ => { });

        var act = () => app.MapOtpSignup<OtpSignupForm>();

        act.Should().Throw<InvalidOperationException>().WithMessage("Call services.AddOtpSignup<OtpSignupForm>() before*");
    }

    [Fact]
    public async Task MapOtpSignup_RegisteredFormType_MapsStartResendAndVerify()
    {
        await using var app = Build(s => s.AddOtpSignup<OtherForm>().CompleteWith<RefusingCompletion>());

        app.MapOtpSignup<OtherForm>("/join");

        var routes = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>().Select(e => e.RoutePattern.RawText);
        routes.Should().BeEquivalentTo(["/join/start", "/join/resend", "/join/verify"]);
    }

    private static WebApplication Build(Action<IServiceCollection> configure)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        configure(builder.Services);
        return builder.Build();
    }

    /// <summary>A second form type.</summary>
    public sealed class OtherForm : OtpSignupForm
    {
        /// <summary>A field of its own.</summary>
        public string? Team { get; set; }
    }

    private sealed class RefusingCompletion : IOtpSignupCompletion<OtpSignupForm>
    {
        public ValueTask<bool> AccountExistsAsync(string email, CancellationToken cancellationToken) => ValueTask.FromResult(false);

        public ValueTask<IReadOnlyDictionary<string, string[]>> ValidateAsync(OtpSignupForm form, CancellationToken cancellationToken)
            => ValueTask.FromResult<IReadOnlyDictionary<string, string[]>>(new Dictionary<string, string[]>());

        public ValueTask<OtpCompletionResult> CompleteAsync(OtpSignupForm form, OtpDestination verified, CancellationToken cancellationToken)
            => ValueTask.FromResult(OtpCompletionResult.Taken());
    }
}
