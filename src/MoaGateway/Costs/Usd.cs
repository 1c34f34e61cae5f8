namespace MoaGateway.Costs;

/// <summary>
/// Amounts of US dollars as the gateway reports, charges and stores them: <see cref="decimal"/>, rounded half away from
/// zero to the nano-dollar (9 decimal places), which is below a thousandth of the cheapest token's price.
/// </summary>
public static class Usd
{
    public const int Decimals = 9;

    private const decimal NanosPerDollar = 1_000_000_000m;

    /// <summary><paramref name="amount"/> rounded to the nano-dollar, without trailing zeros (<c>0.0012</c>, not <c>0.001200000</c>).</summary>
    public static decimal Round(decimal amount) =>
        Math.Round(amount, Decimals, MidpointRounding.AwayFromZero) / 1.000000000000000000000000000000000m;

    /// <summary>Whole nano-dollars, the integers Redis adds up.</summary>
    public static long ToNanos(decimal amount) => (long)Math.Round(amount * NanosPerDollar, MidpointRounding.AwayFromZero);

    public static decimal FromNanos(long nanos) => Round(nanos / NanosPerDollar);
}
