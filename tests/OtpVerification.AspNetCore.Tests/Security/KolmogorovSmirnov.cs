using System.Globalization;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>The two-sample Kolmogorov–Smirnov test: can two samples come from one distribution?</summary>
public static class KolmogorovSmirnov
{
    /// <summary>D: the largest distance between the two empirical distribution functions.</summary>
    /// <param name="first">One sample.</param>
    /// <param name="second">The other sample.</param>
    /// <returns>D, between 0 and 1.</returns>
    public static double Statistic(IReadOnlyCollection<double> first, IReadOnlyCollection<double> second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        var x = first.Order().ToArray();
        var y = second.Order().ToArray();
        int i = 0, j = 0;
        var d = 0.0;
        while (i < x.Length && j < y.Length)
        {
            var value = Math.Min(x[i], y[j]);
            while (i < x.Length && x[i] <= value)
            {
                i++;
            }

            while (j < y.Length && y[j] <= value)
            {
                j++;
            }

            d = Math.Max(d, Math.Abs(((double)i / x.Length) - ((double)j / y.Length)));
        }

        return d;
    }

    /// <summary>The asymptotic p-value of <paramref name="d"/> for samples of <paramref name="n"/> and <paramref name="m"/> (Stephens' correction).</summary>
    /// <param name="d">The statistic.</param>
    /// <param name="n">The first sample's size.</param>
    /// <param name="m">The second sample's size.</param>
    /// <returns>The probability of a D at least this large if both samples come from one distribution.</returns>
    public static double PValue(double d, int n, int m)
    {
        var effective = Math.Sqrt((double)n * m / (n + m));
        var lambda = (effective + 0.12 + (0.11 / effective)) * d;
        if (lambda < 0.3)
        {
            return 1.0;
        }

        // Q_KS(λ) = 2 Σ_{k≥1} (−1)^(k−1) exp(−2 k² λ²)
        var sum = 0.0;
        var sign = 1.0;
        for (var k = 1; k <= 100; k++)
        {
            var term = sign * Math.Exp(-2.0 * k * k * lambda * lambda);
            sum += term;
            if (Math.Abs(term) < 1e-12)
            {
                break;
            }

            sign = -sign;
        }

        return Math.Clamp(2.0 * sum, 0.0, 1.0);
    }

    /// <summary>The critical D at significance <paramref name="alpha"/>: a larger D rejects "one distribution".</summary>
    /// <param name="alpha">The significance, e.g. 0.001.</param>
    /// <param name="n">The first sample's size.</param>
    /// <param name="m">The second sample's size.</param>
    /// <returns>The critical value.</returns>
    public static double CriticalValue(double alpha, int n, int m)
        => Math.Sqrt(-Math.Log(alpha / 2) / 2) * Math.Sqrt((double)(n + m) / ((double)n * m));

    /// <summary>A one-line summary of two latency samples (milliseconds) for failure messages.</summary>
    /// <param name="first">One sample.</param>
    /// <param name="second">The other sample.</param>
    /// <returns>The text.</returns>
    public static string Describe(IReadOnlyCollection<double> first, IReadOnlyCollection<double> second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        var d = Statistic(first, second);
        return string.Create(CultureInfo.InvariantCulture, $"D={d:0.000} (critical {CriticalValue(0.001, first.Count, second.Count):0.000} at α=0.001), p={PValue(d, first.Count, second.Count):0.######}; first {Quartiles(first)}; second {Quartiles(second)}");
    }

    private static string Quartiles(IReadOnlyCollection<double> sample)
    {
        var sorted = sample.Order().ToArray();
        return string.Create(CultureInfo.InvariantCulture, $"p10/p25/p50/p75/p90 = {At(0.10):0.00}/{At(0.25):0.00}/{At(0.50):0.00}/{At(0.75):0.00}/{At(0.90):0.00} ms");

        double At(double q) => sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(q * sorted.Length))];
    }
}
