namespace OtpVerification.Sample;

/// <summary>
/// The sample's own texts for OtpVerification (<c>otp.AddTexts(typeof(SampleTexts))</c>): the
/// Spanish of its form's DataAnnotations messages, which are looked up by their English text
/// (SampleTexts.es.resx). Any OtpVerification key (<c>Problem.invalid_code</c>,
/// <c>Message.Email.NotYou</c>…) could be added there too, to change its wording, and a
/// SampleTexts.fr.resx would add French.
/// </summary>
public sealed class SampleTexts;
