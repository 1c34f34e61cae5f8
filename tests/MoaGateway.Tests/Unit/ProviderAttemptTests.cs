using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using MoaGateway.Configuration;
using MoaGateway.Moa;
using MoaGateway.Providers;
using MoaGateway.Tests.Infrastructure;
using OpenAI.Chat;

namespace MoaGateway.Tests.Unit;

/// <summary>One upstream attempt through the real SDK against a fake upstream on loopback.</summary>
public sealed class ProviderAttemptTests
{
    [Fact]
    public async Task A_request_the_sdk_cannot_build_is_the_gateways_failure_and_never_blamed_on_the_provider()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        using var provider = new Provider(
            "fake", new ProviderOptions { BaseUrl = upstream.BaseUrl }, "sk-attempt-test", simulatedBecause: null, new SocketsHttpHandler(), TimeProvider.System);
        var agent = new AgentSpec("fake", $"model-{Guid.NewGuid():N}");
        // What the SDK's reader makes of an assistant turn whose function_call has no name: its writer cannot send it.
        var unsendable = ModelReaderWriter.Read<ChatMessage>(BinaryData.FromString("""{"role":"assistant","content":null,"function_call":{}}"""))!;
        var errors = new ConcurrentQueue<string?>();
        using var listener = UpstreamErrorsOf(agent.Model, errors);

        var failure = await Record.ExceptionAsync(() =>
            ProviderAttempt.OpenAsync(provider, agent, [unsendable], new ChatCompletionOptions(), new CallProgress(), CancellationToken.None));

        Assert.NotNull(failure);
        Assert.IsNotType<ProviderException>(failure);
        Assert.Empty(upstream.Requests);
        Assert.Empty(errors);
    }

    private static MeterListener UpstreamErrorsOf(string model, ConcurrentQueue<string?> errors)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument is { Meter.Name: "MoaGateway", Name: "moa.upstream.errors" })
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            var tagged = tags.ToArray();
            if (tagged.Any(tag => tag is { Key: "gen_ai.request.model" } && (string?)tag.Value == model))
            {
                errors.Enqueue((string?)tagged.FirstOrDefault(tag => tag.Key == "error.type").Value);
            }
        });
        listener.Start();
        return listener;
    }
}
