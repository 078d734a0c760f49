using System.ComponentModel.DataAnnotations;
using OtpVerification.AspNetCore;

namespace OtpVerification.AspNetCore.Tests.Signup;

/// <summary>
/// The signup form's DataAnnotations check answers "valid" without <see cref="Validator"/> only
/// when the validator would: every form below, valid or not, gets the validator's own verdict and
/// errors, whatever rules its type has.
/// </summary>
public sealed class FormValidationTests
{
    public static TheoryData<string, object> Forms()
    {
        var data = new TheoryData<string, object>();
        foreach (var name in new[] { null, "", " ", "Ana", new string('x', 100), new string('x', 101) })
        {
            foreach (var device in new[] { null, "d", new string('d', 128), new string('d', 129) })
            {
                data.Add("sample", new SampleLikeForm { Name = name, DeviceId = device });
            }

            data.Add("no-digits", new NoDigitsForm { Name = name });
            data.Add("context", new ContextRuleForm { Name = name });
            data.Add("compare", new CompareForm { Name = name, Again = "Ana" });
            data.Add("class-rule", new ClassRuleForm { Name = name });
            data.Add("validatable", new ValidatableForm { Name = name });
            data.Add("plain", new OtpSignupForm { DeviceId = name });
            data.Add("metadata", new MetadataForm { Name = name });
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Forms))]
    public void TryValidate_AnyForm_GivesTheValidatorsVerdictAndErrors(string kind, object form)
    {
        var expected = new List<ValidationResult>();
        var expectedValid = Validator.TryValidateObject(form, new ValidationContext(form), expected, validateAllProperties: true);

        var actual = new List<ValidationResult>();
        var actualValid = FormValidation.TryValidate(form, actual);

        actualValid.Should().Be(expectedValid, kind);
        actual.Select(r => (r.ErrorMessage, string.Join(",", r.MemberNames))).Should().Equal(expected.Select(r => (r.ErrorMessage, string.Join(",", r.MemberNames))), kind);
    }

    [Fact]
    public void FastPath_PropertyRulesThatNeedNoContext_AreCheckedWithoutTheValidator()
    {
        FormValidation.HasFastPath(typeof(SampleLikeForm)).Should().BeTrue();
        FormValidation.HasFastPath(typeof(NoDigitsForm)).Should().BeTrue("it overrides only IsValid(object)");
        FormValidation.HasFastPath(typeof(OtpSignupForm)).Should().BeTrue();
    }

    [Fact]
    public void FastPath_RulesOnlyTheValidatorCanFollow_GoToTheValidator()
    {
        FormValidation.HasFastPath(typeof(ContextRuleForm)).Should().BeFalse("its attribute reads the validation context");
        FormValidation.HasFastPath(typeof(CompareForm)).Should().BeFalse("Compare requires the context");
        FormValidation.HasFastPath(typeof(ClassRuleForm)).Should().BeFalse("a class-level rule");
        FormValidation.HasFastPath(typeof(ValidatableForm)).Should().BeFalse("IValidatableObject");
        FormValidation.HasFastPath(typeof(MetadataForm)).Should().BeFalse("its rules live in a metadata class");
    }

    [Fact]
    public void TryValidate_ContextRuleThatFailsOnlyWithTheContext_IsStillRefused()
    {
        // IsValid(object) alone would say yes (the base calls the override with a null context,
        // which this rule treats as valid): the validator, given the context, says no.
        var form = new ContextRuleForm { Name = "forbidden" };
        var results = new List<ValidationResult>();

        FormValidation.TryValidate(form, results).Should().BeFalse();
        results.Should().ContainSingle().Which.MemberNames.Should().Equal("Name");
    }

    public sealed class SampleLikeForm : OtpSignupForm
    {
        [Required(AllowEmptyStrings = false, ErrorMessage = "The name is required.")]
        [StringLength(100, ErrorMessage = "The name must be at most 100 characters.")]
        public string? Name { get; set; }
    }

    public sealed class NoDigitsForm : OtpSignupForm
    {
        [NoDigits]
        public string? Name { get; set; }
    }

    public sealed class ContextRuleForm : OtpSignupForm
    {
        [ForbiddenWithContext]
        public string? Name { get; set; }
    }

    public sealed class CompareForm : OtpSignupForm
    {
        public string? Name { get; set; }

        [Compare(nameof(Name))]
        public string? Again { get; set; }
    }

    [NameNotAdmin]
    public sealed class ClassRuleForm : OtpSignupForm
    {
        public string? Name { get; set; }
    }

    public sealed class ValidatableForm : OtpSignupForm, IValidatableObject
    {
        public string? Name { get; set; }

        public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
        {
            if (Name is " ")
            {
                yield return new ValidationResult("No blank names.", [nameof(Name)]);
            }
        }
    }

    [MetadataType(typeof(MetadataFormRules))]
    public sealed class MetadataForm : OtpSignupForm
    {
        public string? Name { get; set; }
    }

    public sealed class MetadataFormRules
    {
        [Required]
        public string? Name { get; set; }
    }

    private sealed class NoDigitsAttribute : ValidationAttribute
    {
        public override bool IsValid(object? value) => value is not string s || !s.Any(char.IsDigit) && s != " ";
    }

    private sealed class ForbiddenWithContextAttribute : ValidationAttribute
    {
        protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
            => validationContext is not null && value is "forbidden" or " " ? new ValidationResult("Forbidden.", [validationContext.MemberName!]) : ValidationResult.Success;
    }

    [AttributeUsage(AttributeTargets.Class)]
    private sealed class NameNotAdminAttribute : ValidationAttribute
    {
        public override bool IsValid(object? value) => value is not ClassRuleForm { Name: "Ana" };
    }
}
