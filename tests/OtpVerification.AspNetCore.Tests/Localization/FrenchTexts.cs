namespace OtpVerification.AspNetCore.Tests.Localization;

/// <summary>An app's own texts adding French (FrenchTexts.fr.resx), for <c>AddTexts(typeof(FrenchTexts))</c>.</summary>
public sealed class FrenchTexts;
