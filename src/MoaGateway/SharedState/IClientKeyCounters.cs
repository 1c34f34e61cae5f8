using MoaGateway.Costs;

namespace MoaGateway.SharedState;

/// <summary>The counts behind client keys' limits and budgets: in this replica's memory, or in a store every replica shares.</summary>
public interface IClientKeyCounters : ISpendLedger
{
    /// <summary>
    /// Checks the key's budget, counts the request in the key's minute and takes one of its slots, in that order, stopping
    /// at the first limit reached. Never throws and never waits longer than the store's timeout.
    /// </summary>
    ValueTask<Admission> AdmitAsync(KeyLimits limits, DateTimeOffset now);
}
