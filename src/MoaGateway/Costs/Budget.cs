using System.Globalization;

namespace MoaGateway.Costs;

/// <summary>The two periods a budget covers, both in UTC.</summary>
public enum BudgetPeriod
{
    Day,
    Month,
}

/// <summary>
/// What a client key may spend per UTC day and per UTC month (<c>Auth:Keys:&lt;id&gt;:Budget</c>); null means no cap.
/// A key at or over either cap is refused until that period ends.
/// </summary>
public sealed record Budget(decimal? UsdPerDay, decimal? UsdPerMonth)
{
    /// <summary>The largest cap the gateway takes: spend is added up in whole nano-dollars, exact to about 9 million dollars.</summary>
    public const decimal MaxUsd = 1_000_000;

    /// <summary>The first cap that <paramref name="spent"/> has reached, or null while both have room.</summary>
    public BudgetPeriod? Exhausted(Spend spent) =>
        spent.Day >= UsdPerDay ? BudgetPeriod.Day
        : spent.Month >= UsdPerMonth ? BudgetPeriod.Month
        : null;

    public decimal? Cap(BudgetPeriod period) => period == BudgetPeriod.Day ? UsdPerDay : UsdPerMonth;

    /// <summary>When the period that holds <paramref name="now"/> ends.</summary>
    public static DateTimeOffset ResetsAt(BudgetPeriod period, DateTimeOffset now)
    {
        var utc = now.UtcDateTime;
        var start = period == BudgetPeriod.Day ? utc.Date : new DateTime(utc.Year, utc.Month, 1, 0, 0, 0, DateTimeKind.Utc);
        return new DateTimeOffset(period == BudgetPeriod.Day ? start.AddDays(1) : start.AddMonths(1), TimeSpan.Zero);
    }

    /// <summary>The name of the period that holds <paramref name="now"/>, as spend is stored under it: <c>d20261201</c>, <c>m202612</c>.</summary>
    public static string PeriodName(BudgetPeriod period, DateTimeOffset now) => period == BudgetPeriod.Day
        ? now.UtcDateTime.ToString("'d'yyyyMMdd", CultureInfo.InvariantCulture)
        : now.UtcDateTime.ToString("'m'yyyyMM", CultureInfo.InvariantCulture);
}
