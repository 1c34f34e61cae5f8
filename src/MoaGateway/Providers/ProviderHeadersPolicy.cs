using System.ClientModel.Primitives;

namespace MoaGateway.Providers;

/// <summary>Adds a provider's configured headers to every SDK request, and drops the placeholder credential of keyless providers.</summary>
internal sealed class ProviderHeadersPolicy(IReadOnlyDictionary<string, string> headers, bool sendsApiKey) : PipelinePolicy
{
    public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        Apply(message.Request);
        ProcessNext(message, pipeline, currentIndex);
    }

    public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        Apply(message.Request);
        return ProcessNextAsync(message, pipeline, currentIndex);
    }

    private void Apply(PipelineRequest request)
    {
        if (!sendsApiKey)
        {
            request.Headers.Remove("Authorization");
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.Set(name, value);
        }
    }
}
