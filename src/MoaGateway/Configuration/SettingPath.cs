using System.Text.Json;

namespace MoaGateway.Configuration;

/// <summary>
/// Where a setting sits, in the words of whoever wrote it: a configuration key
/// (<c>MoaGateway:Models:moa:Layers:0:MinAgents</c>) or the JSON path of a request's <c>moa</c> object
/// (<c>moa.layers[0].min_agents</c>). The rules a virtual model is checked by take one, so a configured model and a
/// request's override are refused in the same words, each naming the place as it was written.
/// </summary>
public readonly record struct SettingPath
{
    private readonly bool _json;

    private SettingPath(string path, bool json)
    {
        Path = path;
        _json = json;
    }

    /// <summary>The path as written, without quotes: a configuration key, or an OpenAI error's <c>param</c>.</summary>
    public string Path { get; }

    public static SettingPath Key(string key) => new(key, json: false);

    public static SettingPath Json(string path) => new(path, json: true);

    /// <summary>The setting <paramref name="setting"/>, named as the options types name it, below this one.</summary>
    public SettingPath this[string setting] => Written(Name(setting));

    /// <summary>The child named <paramref name="written"/> exactly as it was written, such as a field of a request.</summary>
    public SettingPath Written(string written) => new(_json ? $"{Path}.{written}" : $"{Path}:{written}", _json);

    /// <summary>Entry <paramref name="index"/> of the list at this path.</summary>
    public SettingPath this[int index] => new(_json ? $"{Path}[{index}]" : $"{Path}:{index}", _json);

    /// <summary>A setting's name as this kind of path writes it: <c>MinAgents</c> in configuration, <c>min_agents</c> in JSON.</summary>
    public string Name(string setting) => _json ? JsonNamingPolicy.SnakeCaseLower.ConvertName(setting) : setting;

    /// <summary>For messages: configuration keys bare, as the configuration errors write them; JSON paths quoted, as request errors do.</summary>
    public override string ToString() => _json ? $"'{Path}'" : Path;
}
