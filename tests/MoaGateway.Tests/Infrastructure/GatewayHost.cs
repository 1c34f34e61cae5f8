using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Responses;

namespace MoaGateway.Tests.Infrastructure;

/// <summary>The real gateway, configured through its command line, listening on a loopback port.</summary>
public sealed class GatewayHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GatewayHost(WebApplication app, IReadOnlyList<string> addresses)
    {
        _app = app;
        Addresses = addresses;
        BaseAddress = new Uri(addresses[0]);
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>The public address, listed first, followed by the management port's when one is configured.</summary>
    public IReadOnlyList<string> Addresses { get; }

    public Uri BaseAddress { get; }

    /// <summary>A raw HTTP client for wire-format checks.</summary>
    public HttpClient Http { get; }

    /// <param name="settings">The gateway's configuration.</param>
    /// <param name="overrideServices">Services registered after the gateway's own, which they replace.</param>
    public static async Task<GatewayHost> StartAsync(GatewaySettings settings, Action<IServiceCollection>? overrideServices = null)
    {
        var app = GatewayApp.Create(settings.ToArgs(), overrideServices);
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        return new GatewayHost(app, [.. addresses]);
    }

    /// <summary>The official OpenAI SDK pointed at the gateway, with its own retries off so every failure is seen as it is.</summary>
    public OpenAIClient Client(string apiKey = "client-key-unused") => new(
        new ApiKeyCredential(apiKey),
        new OpenAIClientOptions
        {
            Endpoint = new Uri(BaseAddress, "/v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(60),
        });

    /// <summary>The SDK's chat client, as <see cref="Client"/> makes it.</summary>
    public ChatClient ChatClient(string model, string apiKey = "client-key-unused") => Client(apiKey).GetChatClient(model);

    /// <summary>The official OpenAI SDK's Responses client pointed at the gateway, its retries off as in <see cref="ChatClient"/>.</summary>
    public ResponsesClient ResponsesClient(string apiKey = "client-key-unused") => new(
        new ApiKeyCredential(apiKey),
        new ResponsesClientOptions
        {
            Endpoint = new Uri(BaseAddress, "/v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(60),
        });

    /// <summary>Stops the host as SIGTERM would: no new connections, in-flight requests drain.</summary>
    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
