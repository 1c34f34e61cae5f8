using Microsoft.Extensions.Options;
using MoaGateway.Configuration;

namespace MoaGateway;

/// <summary>
/// On shutdown (SIGTERM), the server stops accepting while in-flight requests go on; when
/// <see cref="GatewayOptions.ShutdownDrainSeconds"/> have passed, <see cref="Over"/> fires and those still running end
/// with an error the client can read, before the host's own shutdown timeout would cut them silently.
/// </summary>
public sealed class ShutdownDrain(IHostApplicationLifetime lifetime, IOptions<GatewayOptions> options) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _over = new();
    private CancellationTokenRegistration _stopping;

    public CancellationToken Over => _over.Token;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = lifetime.ApplicationStopping.Register(() => _over.CancelAfter(TimeSpan.FromSeconds(options.Value.ShutdownDrainSeconds)));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        _stopping.Dispose();
        _over.Dispose();
    }
}
