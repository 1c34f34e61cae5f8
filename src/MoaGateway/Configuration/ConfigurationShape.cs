using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.EnvironmentVariables;

namespace MoaGateway.Configuration;

/// <summary>
/// Checks every key under <c>MoaGateway</c>, from every source, against the options types before they are bound: the
/// binder itself ignores keys it does not know (a misspelt <c>Temprature</c> would have no effect), gives up at the
/// first value it cannot convert, and reads a string agent while ignoring settings an override file added to it.
/// </summary>
internal static class ConfigurationShape
{
    public static IReadOnlyList<string> Check(IConfigurationRoot configuration)
    {
        var problems = new List<string>();
        var section = configuration.GetSection(GatewayOptions.SectionName);
        Check(section, typeof(GatewayOptions), configuration, problems);
        foreach (var top in configuration.GetChildren())
        {
            if (!top.Key.Equals(GatewayOptions.SectionName, StringComparison.OrdinalIgnoreCase) &&
                Spelling.IsTypo(top.Key, GatewayOptions.SectionName))
            {
                problems.Add($"{top.Key} is not a section the gateway reads; did you mean {GatewayOptions.SectionName}?{SourceOf(top, configuration)}");
            }
        }

        return problems;
    }

    private static void Check(IConfigurationSection section, Type type, IConfigurationRoot root, List<string> problems)
    {
        var children = section.GetChildren().ToList();
        var value = section.Value;
        if (Scalar.Of(type) is { } scalar)
        {
            if (children.Count > 0)
            {
                problems.Add($"{section.Path} takes {scalar.Expected}, not settings of its own ({children[0].Path}).{SourceOf(children[0], root)}");
            }
            else if (value is not null && scalar.Rejects(value))
            {
                problems.Add(value.Length == 0
                    ? $"{section.Path} is empty: give {scalar.Expected}, or leave it out for the default.{SourceOf(section, root)}"
                    : $"{section.Path} '{value}' is not {scalar.Expected}.{SourceOf(section, root)}");
            }

            return;
        }

        // The binder converts any value of an agent, an empty one included, and then ignores what lies below it.
        if (type == typeof(AgentOptions) && value is not null)
        {
            CheckStringAgent(section, value, children, root, problems);
            return;
        }

        if (!string.IsNullOrEmpty(value))
        {
            problems.Add($"{section.Path} is {Describe(type)}, not the value '{value}'.{SourceOf(section, root)}");
            return;
        }

        if (Generic(type, typeof(Dictionary<,>)) is [_, var entryType])
        {
            foreach (var child in children)
            {
                Check(child, entryType, root, problems);
            }
        }
        else if (Generic(type, typeof(List<>)) is [var itemType])
        {
            foreach (var child in children)
            {
                if (int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    Check(child, itemType, root, problems);
                }
                else
                {
                    problems.Add($"{child.Path}: {section.Key} is a list, whose entries are numbered ({section.Key}:0, {section.Key}:1, ...).{SourceOf(child, root)}");
                }
            }
        }
        else
        {
            var settings = Settings(type);
            foreach (var child in children)
            {
                if (settings.TryGetValue(child.Key, out var setting))
                {
                    Check(child, setting.PropertyType, root, problems);
                }
                else
                {
                    problems.Add($"{child.Path} is not a setting; {Suggest(child.Key, settings.Keys)}{SourceOf(child, root)}");
                }
            }
        }
    }

    private static void CheckStringAgent(
        IConfigurationSection section, string value, List<IConfigurationSection> children, IConfigurationRoot root, List<string> problems)
    {
        if (AgentOptions.Parse(value) is null)
        {
            problems.Add(GatewayOptionsValidator.NotAnAgent(SettingPath.Key(section.Path), value) + SourceOf(section, root));
        }

        if (children.Count > 0)
        {
            // The binder would take the string and drop the settings without a word.
            var names = string.Join(", ", children.Select(child => child.Key));
            problems.Add(
                $"{section.Path} is the agent '{value}', written as a string{SourceOf(section, root)}, and also has settings ({names}){SourceOf(children[0], root)}. " +
                "An agent written as a string takes no settings: set them in the model's AgentDefaults, or write the agents of the model in one file only.");
        }
    }

    /// <summary>The settings a section of <paramref name="type"/> may hold, by name in any case, as the binder matches them.</summary>
    private static Dictionary<string, PropertyInfo> Settings(Type type) => type
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(property => property.SetMethod is { IsPublic: true })
        .ToDictionary(property => property.Name, StringComparer.OrdinalIgnoreCase);

    private static string Suggest(string key, IEnumerable<string> settings) => Spelling.Closest(key, settings) is { } closest
        ? $"did you mean {closest}?"
        : $"the settings here are {string.Join(", ", settings.Order(StringComparer.Ordinal))}.";

    private static Type[] Generic(Type type, Type definition) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == definition ? type.GetGenericArguments() : [];

    private static string Describe(Type type) =>
        Generic(type, typeof(List<>)).Length > 0 ? "a list" : Generic(type, typeof(Dictionary<,>)).Length > 0 ? "a set of named entries" : "a section of settings";

    /// <summary>Where the section (or the first value below it) comes from: a file, an environment variable, the command line.</summary>
    private static string SourceOf(IConfigurationSection section, IConfigurationRoot root)
    {
        foreach (var (key, _) in section.AsEnumerable())
        {
            var provider = root.Providers.LastOrDefault(candidate => candidate.TryGet(key, out _));
            if (provider is not null)
            {
                return provider switch
                {
                    SettingsFileProvider file => $" (in {file.FullPath})",
                    FileConfigurationProvider file => $" (in {file.Source.Path})",
                    EnvironmentVariablesConfigurationProvider => $" (environment variable {key.Replace(":", "__", StringComparison.Ordinal)})",
                    CommandLineConfigurationProvider => $" (command line --{key})",
                    _ => string.Empty,
                };
            }
        }

        return string.Empty;
    }

    /// <summary>A setting that holds one value, converted as the binder converts it.</summary>
    private sealed record Scalar(Type Type, string Expected)
    {
        public static Scalar? Of(Type type)
        {
            var underlying = Nullable.GetUnderlyingType(type);
            var expected = (underlying ?? type) switch
            {
                var t when t == typeof(string) => "text",
                var t when t == typeof(bool) => "true or false",
                var t when t == typeof(int) || t == typeof(long) => "a whole number",
                var t when t == typeof(double) || t == typeof(float) || t == typeof(decimal) => "a number",
                _ => null,
            };
            return expected is null ? null : new Scalar(type, expected);
        }

        /// <summary>An empty value unsets a nullable setting; for any other, it is a value that does not convert.</summary>
        public bool Rejects(string value)
        {
            if (Type == typeof(string) || (value.Length == 0 && Nullable.GetUnderlyingType(Type) is not null))
            {
                return false;
            }

            try
            {
                TypeDescriptor.GetConverter(Nullable.GetUnderlyingType(Type) ?? Type).ConvertFromInvariantString(value);
                return false;
            }
            catch (Exception exception) when (exception is FormatException or ArgumentException or OverflowException)
            {
                return true;
            }
        }
    }
}
