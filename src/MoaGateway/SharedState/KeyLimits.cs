using MoaGateway.Costs;

namespace MoaGateway.SharedState;

/// <summary>What one request of a client key is checked against; a null limit is not checked.</summary>
public readonly record struct KeyLimits(string KeyId, int? RequestsPerMinute, int? MaxConcurrentRequests, Budget? Budget);
