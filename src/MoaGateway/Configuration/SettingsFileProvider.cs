using Microsoft.Extensions.Configuration.Json;

namespace MoaGateway.Configuration;

/// <summary>The provider of a <see cref="SettingsFileSource"/>, which remembers why its last load failed.</summary>
internal sealed class SettingsFileProvider(SettingsFileSource source) : JsonConfigurationProvider(source)
{
    public string FullPath => source.FullPath;

    /// <summary>Why the last load failed, or null when it succeeded.</summary>
    public string? Problem { get; set; }

    public override void Load()
    {
        Problem = null;
        base.Load();
    }
}
