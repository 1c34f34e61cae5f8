using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using MoaGateway.Configuration;
using MoaGateway.Forwarding;
using OpenAI;
using OpenAI.Chat;

namespace MoaGateway.Providers;

/// <summary>
/// One configured provider, ready to call: an HTTP connection pool shared by the OpenAI SDK, the pass-through
/// forwarder and readiness probes, behind <see cref="ProviderAuthHandler"/>, the one place its API key joins a request.
/// </summary>
public sealed class Provider : IDisposable
{
    private readonly OpenAIClient _client;
    private readonly ConcurrentDictionary<string, ChatClient> _chatClients = new(StringComparer.Ordinal);
    private readonly string? _apiKey;

    public Provider(string name, ProviderOptions options, string? apiKey, string? simulatedBecause, HttpMessageHandler handler, TimeProvider time)
    {
        Resilience = new ProviderResilience(name, options, time);
        CallSlots = new SemaphoreSlim(options.MaxConcurrentCalls, options.MaxConcurrentCalls);
        Name = name;
        Options = options;
        _apiKey = string.IsNullOrEmpty(apiKey) ? null : apiKey;
        SimulatedBecause = simulatedBecause;
        BaseUrl = new Uri((options.BaseUrl ?? "http://simulated.invalid/v1").TrimEnd('/') + "/");
        var authenticated = new ProviderAuthHandler(_apiKey, options.Headers, handler);
        HttpClient = new HttpClient(authenticated) { Timeout = Timeout.InfiniteTimeSpan };
        // HttpClient's own SendAsync reads whole bodies; a forwarder needs the response as soon as its headers arrive.
        Invoker = new HttpMessageInvoker(authenticated, disposeHandler: false);

        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = BaseUrl,
            Transport = new HttpClientPipelineTransport(HttpClient),
            // Retries and timeouts are the gateway's, so a client's deadline is never multiplied by hidden SDK retries.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            // Every call runs under the gateway's own first-token and whole-call deadlines (ProviderAttempt). The SDK's
            // per-read timeout on top of them only restarted a timer for every streamed chunk.
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        };
        // The SDK insists on a credential; for a keyless provider ProviderAuthHandler removes this placeholder.
        _client = new OpenAIClient(new ApiKeyCredential(_apiKey ?? "no-key"), clientOptions);
    }

    public string Name { get; }

    public ProviderOptions Options { get; }

    /// <summary>The provider's base URL, ending in a slash so relative paths such as <c>chat/completions</c> resolve under it.</summary>
    public Uri BaseUrl { get; }

    public HttpClient HttpClient { get; }

    /// <summary>The same handler chain as <see cref="HttpClient"/>, for callers that stream responses as they arrive.</summary>
    public HttpMessageInvoker Invoker { get; }

    /// <summary>Why this provider is served by the built-in simulator, or null when it is a real upstream.</summary>
    public string? SimulatedBecause { get; }

    public bool IsSimulated => SimulatedBecause is not null;

    /// <summary>Retries and the circuit breakers of this provider and its models.</summary>
    public ProviderResilience Resilience { get; }

    /// <summary>Bounds the calls in flight to this provider (<see cref="ProviderOptions.MaxConcurrentCalls"/>).</summary>
    public SemaphoreSlim CallSlots { get; }

    public ChatClient GetChatClient(string model) => _chatClients.GetOrAdd(model, _client.GetChatClient);

    /// <summary>Removes the API key from text that came from the upstream, such as an error message that echoes it.</summary>
    public string Redact(string text) =>
        _apiKey is null ? text : text.Replace(_apiKey, "[redacted]", StringComparison.Ordinal);

    /// <summary>Removes the API key from a body relayed piece by piece, also where it is split between two pieces.</summary>
    public SecretRedactor CreateRedactor() => new(_apiKey);

    public void Dispose()
    {
        HttpClient.Dispose();
        CallSlots.Dispose();
        Resilience.Dispose();
    }
}
