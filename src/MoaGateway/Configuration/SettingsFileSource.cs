using System.Text.Json;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.FileProviders.Physical;

namespace MoaGateway.Configuration;

/// <summary>
/// A JSON settings file (<c>appsettings.json</c>, the <c>MOAGATEWAY_CONFIG</c> file) that the gateway reloads itself.
/// A file that is not JSON, or a required one that is missing, keeps its last content and becomes a
/// <see cref="SettingsFileProvider.Problem"/>, where the framework's source throws at start-up and, on a reload,
/// silently empties itself.
/// </summary>
internal sealed class SettingsFileSource : JsonConfigurationSource
{
    public SettingsFileSource(string fullPath, bool optional, string? namedBy = null)
    {
        FullPath = fullPath;
        NamedBy = namedBy;
        Optional = optional;
        ReloadOnChange = false;
        var directory = System.IO.Path.GetDirectoryName(fullPath)!;
        if (Directory.Exists(directory))
        {
            // No exclusion filters: a file the user names is read even if it is a dot file.
            FileProvider = new PhysicalFileProvider(directory, ExclusionFilters.None);
            Path = System.IO.Path.GetFileName(fullPath);
        }
        else
        {
            Path = fullPath;
            ResolveFileProvider();
        }

        OnLoadException = context =>
        {
            ((SettingsFileProvider)context.Provider).Problem = context.Exception is FileNotFoundException
                ? $"{FullPath}{(NamedBy is null ? "" : $", named by {NamedBy},")} does not exist."
                : Describe(context.Exception);
            context.Ignore = true;
        };
    }

    public string FullPath { get; }

    /// <summary>The variable that named the file, for messages about it; null for appsettings files.</summary>
    public string? NamedBy { get; }

    public override IConfigurationProvider Build(IConfigurationBuilder builder)
    {
        EnsureDefaults(builder);
        return new SettingsFileProvider(this);
    }

    /// <summary>What went wrong loading a settings file, naming the file, and the line where the JSON parser gives one.</summary>
    public static string Describe(Exception exception)
    {
        // "Failed to load configuration from file '...'", which names the file.
        var file = exception.Message.TrimEnd('.');
        return exception switch
        {
            InvalidDataException { InnerException: FormatException { InnerException: JsonException json } } =>
                $"{file}: not valid JSON at line {json.LineNumber + 1}, position {json.BytePositionInLine + 1}: {ParserMessage(json)}",
            InvalidDataException { InnerException: { } inner } => $"{file}: {inner.Message}",
            _ => exception.Message,
        };
    }

    /// <summary>The parser's own words, without the zero-based line and position it appends.</summary>
    private static string ParserMessage(JsonException json)
    {
        var message = json.Message;
        var position = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (position < 0 ? message : message[..position]).TrimEnd(' ', '|');
    }
}
