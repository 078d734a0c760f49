using System.Collections.Concurrent;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Reflection;

[assembly: System.Reflection.Metadata.MetadataUpdateHandler(typeof(OtpVerification.AspNetCore.FormValidation))]

namespace OtpVerification.AspNetCore;

/// <summary>
/// DataAnnotations validation of a form, answered without <see cref="Validator"/> when the answer
/// is certainly "valid". <see cref="Validator.TryValidateObject(object, ValidationContext, ICollection{ValidationResult}?, bool)"/>
/// builds a validation context (and its dictionary) per property and reads values through
/// <see cref="TypeDescriptor"/>; a signup start pays that on every request. For a form type whose
/// rules are only property attributes that need no context (every attribute the BCL ships is one),
/// asking each attribute <see cref="ValidationAttribute.IsValid(object?)"/> is exactly what the
/// validator would ask; when every answer is yes, the form is valid. Any no, and any type with
/// rules this cannot follow (class-level attributes, <see cref="IValidatableObject"/>, metadata
/// classes, custom type descriptors, attributes that read the context), go to <see cref="Validator"/> itself, so the errors
/// and their messages are always the validator's own.
/// </summary>
internal static class FormValidation
{
    private static readonly ConcurrentDictionary<Type, Plan?> Plans = new();

    /// <summary>Validates <paramref name="form"/> as <c>Validator.TryValidateObject(form, new ValidationContext(form), results, validateAllProperties: true)</c> would.</summary>
    /// <param name="form">The form.</param>
    /// <param name="results">Receives the errors.</param>
    /// <returns>Whether the form is valid.</returns>
    public static bool TryValidate(object form, List<ValidationResult> results)
    {
        if (!Plans.TryGetValue(form.GetType(), out var plan))
        {
            // The first form of a type goes to the validator, and the plan is made at that moment:
            // the validator keeps the rules it read then (ValidationAttributeStore), so both see
            // the same rules, also when an app registers TypeDescriptor providers later.
            var valid = Validator.TryValidateObject(form, new ValidationContext(form), results, validateAllProperties: true);
            Plans.TryAdd(form.GetType(), Plan.For(form.GetType()));
            return valid;
        }

        if (plan is not null && plan.AllValid(form))
        {
            return true;
        }

        return Validator.TryValidateObject(form, new ValidationContext(form), results, validateAllProperties: true);
    }

    /// <summary>Forgets every plan (hot reload may change a form's rules).</summary>
    /// <param name="types">The updated types, or <see langword="null"/>.</param>
    internal static void ClearCache(Type[]? types) => Plans.Clear();

    /// <summary>Whether <paramref name="type"/> is checked without <see cref="Validator"/> when valid (for tests).</summary>
    /// <param name="type">The form type.</param>
    /// <returns><see langword="true"/> when it has a plan.</returns>
    internal static bool HasFastPath(Type type) => Plans.GetOrAdd(type, Plan.For) is not null;

    private sealed class Plan
    {
        private readonly (PropertyDescriptor Property, ValidationAttribute[] Rules)[] _properties;

        private Plan((PropertyDescriptor, ValidationAttribute[])[] properties) => _properties = properties;

        public bool AllValid(object form)
        {
            foreach (var (property, rules) in _properties)
            {
                var value = property.GetValue(form);
                foreach (var rule in rules)
                {
                    if (!rule.IsValid(value))
                    {
                        return false;
                    }
                }
            }

            return true;
        }

        // The same descriptors and attributes the validator reads (TypeDescriptor); null when the
        // type has a rule only the validator can follow.
        public static Plan? For(Type type)
        {
            if (typeof(IValidatableObject).IsAssignableFrom(type)
                || typeof(ICustomTypeDescriptor).IsAssignableFrom(type)
                || type.IsDefined(typeof(MetadataTypeAttribute), inherit: true)
                || TypeDescriptor.GetAttributes(type).OfType<ValidationAttribute>().Any())
            {
                return null;
            }

            var properties = new List<(PropertyDescriptor, ValidationAttribute[])>();
            foreach (PropertyDescriptor property in TypeDescriptor.GetProperties(type))
            {
                // The property's own attributes: the validator leaves out those of its type.
                var ofType = TypeDescriptor.GetAttributes(property.PropertyType).Cast<Attribute>().ToArray();
                var rules = property.Attributes.OfType<ValidationAttribute>().Where(a => !ofType.Any(t => ReferenceEquals(t, a))).ToArray();
                if (rules.Length == 0)
                {
                    continue;
                }

                if (!rules.All(AnswersWithoutContext))
                {
                    return null;
                }

                // The validator checks the first [Required] first and stops there when it fails
                // (a later rule may assume a value): so does the plan.
                if (Array.FindIndex(rules, r => r is RequiredAttribute) is > 0 and var required)
                {
                    rules = [rules[required], .. rules[..required], .. rules[(required + 1)..]];
                }

                properties.Add((property, rules));
            }

            return new Plan([.. properties]);
        }

        // GetValidationResult(value, context) calls IsValid(value, context), whose base version
        // calls IsValid(value): the same answer unless the attribute reads the context.
        private static bool AnswersWithoutContext(ValidationAttribute rule)
            => !rule.RequiresValidationContext
               && rule.GetType().GetMethod("IsValid", BindingFlags.Instance | BindingFlags.NonPublic, [typeof(object), typeof(ValidationContext)])?.DeclaringType == typeof(ValidationAttribute);
    }
}
