namespace MoaGateway.Costs;

/// <summary>Where what client keys spend is added up: in this replica's memory, or in the store every replica shares.</summary>
public interface ISpendLedger
{
    /// <summary>Adds <paramref name="usd"/> to the key's day and month of <paramref name="at"/>. Never throws, never waits long: a charge that cannot be stored now is kept and stored later.</summary>
    ValueTask ChargeAsync(string keyId, decimal usd, DateTimeOffset at);

    /// <summary>The key's spend in the day and month of <paramref name="now"/>; null when it cannot be known (the shared store is down and the gateway fails closed).</summary>
    ValueTask<Spend?> SpentAsync(string keyId, DateTimeOffset now, CancellationToken cancellationToken);
}
