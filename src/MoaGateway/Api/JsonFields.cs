using System.Text.Json;
using MoaGateway.Configuration;

namespace MoaGateway.Api;

/// <summary>
/// Reads a JSON object into <typeparamref name="T"/> field by field, each field a name and a reader of its value.
/// JSON null leaves a field unset, as in OpenAI's API; a name that is not a field is refused by name, with the one it
/// probably meant. The readers check types only: what a value means is for the rules of what it is read into.
/// </summary>
internal sealed class JsonFields<T>
{
    private readonly Dictionary<string, Func<JsonElement, SettingPath, T, OpenAiError?>> _fields = new(StringComparer.Ordinal);

    public JsonFields<T> Add(string name, Func<JsonElement, SettingPath, T, OpenAiError?> read)
    {
        _fields.Add(name, read);
        return this;
    }

    public OpenAiError? Read(JsonElement element, SettingPath path, T into)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return OpenAiError.InvalidRequest($"{path} must be an object with the fields {string.Join(", ", _fields.Keys)}.", path.Path);
        }

        foreach (var property in element.EnumerateObject())
        {
            var at = path.Written(property.Name);
            if (!_fields.TryGetValue(property.Name, out var read))
            {
                var hint = Spelling.Closest(property.Name, _fields.Keys) is { } closest
                    ? $"did you mean {closest}?"
                    : $"its fields are {string.Join(", ", _fields.Keys)}.";
                return OpenAiError.InvalidRequest($"{at} is not a field of {path}; {hint}", at.Path, "unknown_parameter");
            }

            if (property.Value.ValueKind != JsonValueKind.Null && read(property.Value, at, into) is { } error)
            {
                return error;
            }
        }

        return null;
    }
}
