namespace MoaGateway.Tests.Infrastructure;

/// <summary>A fresh fake upstream and a gateway configured against it for each test.</summary>
public abstract class GatewayTest : IAsyncLifetime
{
    protected FakeUpstream Upstream { get; private set; } = null!;

    protected GatewayHost Gateway { get; private set; } = null!;

    /// <summary>The gateway's settings; <paramref name="upstream"/> is already running.</summary>
    protected abstract GatewaySettings Configure(FakeUpstream upstream);

    public async Task InitializeAsync()
    {
        Upstream = await FakeUpstream.StartAsync();
        Gateway = await GatewayHost.StartAsync(Configure(Upstream));
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
