namespace MoaGateway.Security;

/// <summary>Endpoint metadata: requests to this endpoint spend money upstream, so a client key's budget applies to them (<c>RequireBudget()</c>).</summary>
internal sealed class Budgeted
{
    public static readonly Budgeted Metadata = new();

    private Budgeted()
    {
    }
}
