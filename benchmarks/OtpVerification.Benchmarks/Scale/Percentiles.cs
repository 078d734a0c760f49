namespace OtpVerification.Benchmarks.Scale;

/// <summary>Nearest-rank percentiles over latency samples in microseconds.</summary>
internal sealed class Percentiles
{
    private readonly double[] _sorted;

    public Percentiles(IEnumerable<double> samples)
    {
        _sorted = samples.Order().ToArray();
    }

    public int Count => _sorted.Length;

    public double Mean => _sorted.Average();

    public double Max => _sorted[^1];

    public double At(double percentile)
    {
        var rank = (int)Math.Ceiling(percentile / 100 * _sorted.Length);
        return _sorted[Math.Clamp(rank - 1, 0, _sorted.Length - 1)];
    }
}
