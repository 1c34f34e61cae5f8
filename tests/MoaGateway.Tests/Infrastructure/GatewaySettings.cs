using System.Security.Cryptography;
using System.Text;

namespace MoaGateway.Tests.Infrastructure;

/// <summary>Gateway configuration as command-line overrides, the same path users take with <c>--MoaGateway:...=...</c>.</summary>
public sealed class GatewaySettings
{
    private readonly Dictionary<string, string> _values = new(StringComparer.OrdinalIgnoreCase)
    {
        ["urls"] = "http://127.0.0.1:0",
        ["environment"] = "Production",
        // An empty content root: only what a test sets is configured, never the repository's appsettings.json.
        ["contentRoot"] = EmptyDirectory.Value,
        ["Serilog:MinimumLevel:Default"] = "Warning",
    };

    private static readonly Lazy<string> EmptyDirectory = new(() => Directory.CreateTempSubdirectory("moagateway-tests-").FullName);

    public GatewaySettings Set(string key, string value)
    {
        _values[key] = value;
        return this;
    }

    /// <summary>A provider named <paramref name="name"/> at the fake, with a fresh API key in a variable of its own.</summary>
    public GatewaySettings Provider(string name, FakeUpstream upstream, string? apiKey = null)
    {
        var variable = $"MOA_TEST_KEY_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(variable, apiKey ?? $"sk-upstream-{Guid.NewGuid():N}");
        return Set($"MoaGateway:Providers:{name}:BaseUrl", upstream.BaseUrl)
            .Set($"MoaGateway:Providers:{name}:ApiKeyEnv", variable)
            // Real retries, with backoffs short enough for a test suite.
            .Set($"MoaGateway:Providers:{name}:Retry:BaseDelayMs", "5")
            .Set($"MoaGateway:Providers:{name}:Retry:MaxDelayMs", "20");
    }

    /// <summary>A virtual model whose agents all use <paramref name="provider"/>; each inner array is a layer of model names.</summary>
    public GatewaySettings Model(string id, string[][] layers, string aggregator, string provider = "fake")
    {
        for (var layer = 0; layer < layers.Length; layer++)
        {
            for (var agent = 0; agent < layers[layer].Length; agent++)
            {
                Set($"MoaGateway:Models:{id}:Layers:{layer}:Agents:{agent}:Provider", provider);
                Set($"MoaGateway:Models:{id}:Layers:{layer}:Agents:{agent}:Model", layers[layer][agent]);
            }
        }

        return Set($"MoaGateway:Models:{id}:Aggregator:Provider", provider)
            .Set($"MoaGateway:Models:{id}:Aggregator:Model", aggregator);
    }

    /// <summary>A client key <paramref name="id"/> configured by its SHA-256, allowed <paramref name="allowedModels"/> (every model when none).</summary>
    public GatewaySettings Auth(string id, string key, params string[] allowedModels) =>
        Set($"MoaGateway:Auth:Keys:{id}:Sha256", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))))
            .AllowedModels(id, allowedModels);

    /// <summary>A client key <paramref name="id"/> configured through an environment variable of its own.</summary>
    public GatewaySettings AuthFromEnvironment(string id, string key, params string[] allowedModels)
    {
        var variable = $"MOA_TEST_CLIENT_KEY_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(variable, key);
        return Set($"MoaGateway:Auth:Keys:{id}:KeyEnv", variable).AllowedModels(id, allowedModels);
    }

    public string? this[string key] => _values.GetValueOrDefault(key);

    public string[] ToArgs() => [.. _values.Select(pair => $"--{pair.Key}={pair.Value}")];

    private GatewaySettings AllowedModels(string id, string[] models)
    {
        for (var i = 0; i < models.Length; i++)
        {
            Set($"MoaGateway:Auth:Keys:{id}:AllowedModels:{i}", models[i]);
        }

        return this;
    }
}
