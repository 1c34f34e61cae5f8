namespace MoaGateway.Costs;

/// <summary>What a client key has spent in the current UTC day and UTC month, in US dollars.</summary>
public readonly record struct Spend(decimal Day, decimal Month)
{
    public static Spend operator +(Spend left, Spend right) => new(left.Day + right.Day, left.Month + right.Month);
}
