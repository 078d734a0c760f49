using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using OtpVerification.AspNetCore;

namespace OtpVerification.AspNetCore.Tests.Signup;

/// <summary>
/// Forms an app could write for which <see cref="FormValidation.TryValidate"/> must agree with
/// <c>Validator.TryValidateObject(form, new ValidationContext(form), results, validateAllProperties: true)</c>
/// (verdict, errors, or the exception type). Tests 1-5, 7-11 and 13 are controls that hold on .NET 10
/// (its Validator reads TypeDescriptor.GetProperties(type) and the descriptors' attributes, as the fast
/// path does); the failing ones are the findings: RuleThatAssumesRequired_* (6, 6b) and
/// RegisteredAfterFirstSignup_* (12, 12b).
/// </summary>
public sealed class FormValidationAttackTests
{
    private static string Outcome(Func<List<ValidationResult>, bool> validate)
    {
        var results = new List<ValidationResult>();
        try
        {
            var valid = validate(results);
            return $"{(valid ? "valid" : "invalid")}: " + string.Join(" | ", results.Select(r => $"{r.ErrorMessage} [{string.Join(",", r.MemberNames)}]"));
        }
        catch (Exception e)
        {
            return "throws " + e.GetType().Name;
        }
    }

    private static void ShouldAgreeWithValidator(object form)
    {
        var expected = Outcome(r => Validator.TryValidateObject(form, new ValidationContext(form), r, validateAllProperties: true));
        var actual = Outcome(r => FormValidation.TryValidate(form, r));
        actual.Should().Be(expected);
    }

    // 1. A custom rule with AllowMultiple = true applied twice (TypeDescriptor keeps one per TypeId, for both).
    [Fact]
    public void AllowMultipleRuleAppliedTwice_FirstOneFails()
        => ShouldAgreeWithValidator(new TwoForbiddenWordsForm { Name = "admin" });

    // 2. The same AllowMultiple rule on a virtual base property and on the override.
    [Fact]
    public void AllowMultipleRuleOnBaseAndOverride_BaseOneFails()
        => ShouldAgreeWithValidator(new OverridingForm { Name = "admin" });

    // 3. Private getter, public setter (TypeDescriptor lists neither for both).
    [Fact]
    public void PrivateGetterPublicSetter_RuleFails()
        => ShouldAgreeWithValidator(new PrivateGetterForm { Code = new string('x', 20) });

    // 4. A write-only property with a rule (not listed by TypeDescriptor).
    [Fact]
    public void WriteOnlyPropertyWithRule()
        => ShouldAgreeWithValidator(new WriteOnlyForm { Secret = "s" });

    // 5. A static public property with a rule (not listed by TypeDescriptor).
    [Fact]
    public void StaticPropertyWithRule_RuleFails()
    {
        StaticPropertyForm.Tenant = new string('t', 20);
        ShouldAgreeWithValidator(new StaticPropertyForm());
    }

    // 6. [Required] is always run first by the validator, which stops there on failure; the fast path
    // runs the rules in attribute order, so a rule that assumes a non-null value throws first.
    [Fact]
    public void RuleThatAssumesRequired_ListedBeforeRequired_NullValue()
        => ShouldAgreeWithValidator(new RequiredLastForm { Name = null });

    // 6b. Same with an app's subclass of RequiredAttribute.
    [Fact]
    public void RuleThatAssumesRequired_ListedBeforeRequiredSubclass_NullValue()
        => ShouldAgreeWithValidator(new RequiredSubclassLastForm { Name = null });

    // 7. A property hidden with `new` and a different type.
    [Theory]
    [InlineData(null)]
    [InlineData("x")]
    [InlineData("0123456789abcdef")]
    public void HiddenWithNewOfAnotherType(string? baseName)
    {
        var form = new HidingOtherTypeForm { Name = 3 };
        ((HidingBase)form).Name = baseName;
        ShouldAgreeWithValidator(form);
    }

    // 8. A property hidden with `new`, same type, rule only on the base.
    [Theory]
    [InlineData(null)]
    [InlineData("0123456789abcdef")]
    public void HiddenWithNewSameType(string? name)
        => ShouldAgreeWithValidator(new HidingSameTypeForm { Name = name });

    // 9. The same non-multiple rule on the property and on the property's type.
    [Theory]
    [InlineData("admin")]
    [InlineData("root")]
    [InlineData("ok")]
    public void SameRuleOnPropertyAndOnItsType(string handle)
        => ShouldAgreeWithValidator(new HandleForm { Handle = new Handle { Value = handle } });

    // 10. Controls: nullable value types, generic forms, indexers, explicit interface properties.
    [Theory]
    [InlineData(null)]
    [InlineData(0)]
    [InlineData(5)]
    public void NullableAndGeneric(int? age)
        => ShouldAgreeWithValidator(new GenericForm<int?> { Age = age, Extra = age });

    [Fact]
    public void IndexerAndExplicitInterface()
        => ShouldAgreeWithValidator(new IndexerForm());

    // 12. The plan is computed once per type, on the first signup; the validator's own store
    // (ValidationAttributeStore) is filled lazily, on the validator's first call for the type, which the
    // fast path skips for as long as every form is valid. A buddy-class provider registered after the
    // first (valid) signup is then seen by the validator but never by the plan.
    [Fact]
    public void RegisteredAfterFirstSignup_BuddyClassRules_AreIgnored()
    {
        FormValidation.TryValidate(new LateBuddyForm { Name = "Ana" }, []).Should().BeTrue();
        var provider = new AssociatedMetadataTypeTypeDescriptionProvider(typeof(LateBuddyForm), typeof(LateBuddyRules));
        TypeDescriptor.AddProviderTransparent(provider, typeof(LateBuddyForm));
        try
        {
            ShouldAgreeWithValidator(new LateBuddyForm { Name = null });
        }
        finally
        {
            TypeDescriptor.RemoveProviderTransparent(provider, typeof(LateBuddyForm));
        }
    }

    // 12b. The same with a class-level rule added with TypeDescriptor.AddAttributes.
    [Fact]
    public void RegisteredAfterFirstSignup_ClassLevelRule_IsIgnored()
    {
        FormValidation.TryValidate(new LateClassRuleForm { Name = "Ana" }, []).Should().BeTrue();
        var provider = TypeDescriptor.AddAttributes(typeof(LateClassRuleForm), new NotAnaAttribute());
        try
        {
            ShouldAgreeWithValidator(new LateClassRuleForm { Name = "Ana" });
        }
        finally
        {
            TypeDescriptor.RemoveProvider(provider, typeof(LateClassRuleForm));
        }
    }

    // 13. A rule that overrides IsValid(object, ValidationContext) with a covariant return type.
    [Theory]
    [InlineData("ok")]
    [InlineData("forbidden")]
    public void CovariantContextOverride(string name)
        => ShouldAgreeWithValidator(new CovariantForm { Name = name });

    // ---- forms ----

    public sealed class CovariantForm : OtpSignupForm
    {
        [CovariantRule]
        public string? Name { get; set; }
    }

    public sealed class NamedResult(string message, string member) : ValidationResult(message, [member]);

    private sealed class CovariantRuleAttribute : ValidationAttribute
    {
        protected override NamedResult? IsValid(object? value, ValidationContext validationContext)
            => value is "forbidden" && validationContext is not null ? new NamedResult("Forbidden.", validationContext.MemberName!) : null;
    }

    public sealed class LateBuddyForm : OtpSignupForm
    {
        public string? Name { get; set; }
    }

    public sealed class LateBuddyRules
    {
        [Required]
        public string? Name { get; set; }
    }

    public sealed class LateClassRuleForm : OtpSignupForm
    {
        public string? Name { get; set; }
    }

    [AttributeUsage(AttributeTargets.Class)]
    private sealed class NotAnaAttribute : ValidationAttribute
    {
        public override bool IsValid(object? value) => value is not LateClassRuleForm { Name: "Ana" };
    }


    public sealed class TwoForbiddenWordsForm : OtpSignupForm
    {
        [Forbidden("admin")]
        [Forbidden("root")]
        public string? Name { get; set; }
    }

    public class VirtualBase : OtpSignupForm
    {
        [Forbidden("admin")]
        public virtual string? Name { get; set; }
    }

    public sealed class OverridingForm : VirtualBase
    {
        [Forbidden("root")]
        public override string? Name { get; set; }
    }

    public sealed class PrivateGetterForm : OtpSignupForm
    {
        [StringLength(10)]
        public string? Code { private get; set; }
    }

    public sealed class WriteOnlyForm : OtpSignupForm
    {
        private string? _secret;

        [Required]
        public string? Secret { set => _secret = value; }

        public bool HasSecret => _secret is not null;
    }

    public sealed class StaticPropertyForm : OtpSignupForm
    {
        [StringLength(10)]
        public static string? Tenant { get; set; }
    }

    public sealed class RequiredLastForm : OtpSignupForm
    {
        [NoSpaces]
        [Required]
        public string? Name { get; set; }
    }

    public sealed class RequiredSubclassLastForm : OtpSignupForm
    {
        [NoSpaces]
        [RequiredName]
        public string? Name { get; set; }
    }

    public class HidingBase : OtpSignupForm
    {
        [StringLength(10)]
        public string? Name { get; set; }
    }

    public sealed class HidingOtherTypeForm : HidingBase
    {
        [Range(1, 10)]
        public new int Name { get; set; }
    }

    public class HidingSameTypeBase : OtpSignupForm
    {
        [Required]
        [StringLength(10)]
        public string? Name { get; set; }
    }

    public sealed class HidingSameTypeForm : HidingSameTypeBase
    {
        public new string? Name { get; set; }
    }

    [Forbidden("root")]
    public sealed class Handle
    {
        public string? Value { get; set; }

        public override string? ToString() => Value;
    }

    public sealed class HandleForm : OtpSignupForm
    {
        [Forbidden("admin")]
        public Handle? Handle { get; set; }
    }

    public sealed class GenericForm<T> : OtpSignupForm
    {
        [Range(1, 10)]
        public int? Age { get; set; }

        [Required]
        public T? Extra { get; set; }
    }

    public interface IHasNick
    {
        [Required]
        string? Nick { get; }
    }

    public sealed class IndexerForm : OtpSignupForm, IHasNick
    {
        [Required]
        public string this[int i] => throw new InvalidOperationException();

        string? IHasNick.Nick => null;
    }

    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Class, AllowMultiple = true)]
    private sealed class ForbiddenAttribute(string word) : ValidationAttribute
    {
        public override bool IsValid(object? value) => value?.ToString() != word;
    }

    // Written for a property that also has [Required]: the validator never hands it a null.
    private sealed class NoSpacesAttribute : ValidationAttribute
    {
        public override bool IsValid(object? value) => !((string)value!).Contains(' ');
    }

    private sealed class RequiredNameAttribute : RequiredAttribute
    {
        public RequiredNameAttribute() => ErrorMessage = "The name is required.";
    }
}
