using System.Globalization;

namespace OtpVerification;

/// <summary>Culture lookup that also works in globalization-invariant mode (common in containers).</summary>
internal static class OtpCultures
{
    public static bool InvariantMode { get; } =
        AppContext.TryGetSwitch("System.Globalization.Invariant", out var invariant) && invariant;

    /// <summary>Whether <paramref name="name"/> names a predefined culture (with ICU any well-formed name is otherwise accepted).</summary>
    public static bool IsKnown(string name)
    {
        try
        {
            _ = CultureInfo.GetCultureInfo(name, predefinedOnly: true);
            return true;
        }
        catch (CultureNotFoundException)
        {
            return false;
        }
    }

    public static CultureInfo Get(string? name)
    {
        if (InvariantMode || string.IsNullOrEmpty(name))
        {
            return CultureInfo.InvariantCulture;
        }

        try
        {
            return CultureInfo.GetCultureInfo(name);
        }
        catch (CultureNotFoundException)
        {
            return CultureInfo.InvariantCulture;
        }
    }
}
