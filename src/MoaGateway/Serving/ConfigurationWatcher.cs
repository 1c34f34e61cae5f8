using System.Security.Cryptography;
using MoaGateway.Configuration;

namespace MoaGateway.Serving;

/// <summary>
/// Reloads the configuration when a settings file changes. Files are compared by content every
/// <see cref="PollInterval"/>, which sees every way a file changes: edits in place, editors that write a new file and
/// rename it, and Kubernetes' ConfigMap updates, which swap a symbolic link to a directory beside the file without
/// touching the file's own name (events on the file's path never fire for them). A change is acted on once two reads
/// agree, so a file caught half-written is not reported as broken.
/// </summary>
internal sealed partial class ConfigurationWatcher(IConfiguration configuration, LiveConfiguration live, TimeProvider time, ILogger<ConfigurationWatcher> logger)
    : BackgroundService
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>Settings the host reads once at start: changing them in a file takes a restart.</summary>
    private static readonly string[] RestartKeys =
    [
        "urls", "http_ports", "https_ports", "Kestrel", "Serilog", "OTEL_",
        $"{GatewayOptions.SectionName}:ShutdownDrainSeconds", $"{GatewayOptions.SectionName}:Logging",
        $"{GatewayOptions.SectionName}:Management",
    ];

    private readonly IConfigurationRoot _root = (IConfigurationRoot)configuration;
    private Dictionary<string, string?> _startupHostSettings = [];

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _startupHostSettings = HostSettings();
        ConfigurationReport.Log(logger, live.Current);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var files = _root.Providers.OfType<SettingsFileProvider>().Select(file => file.FullPath).ToArray();
        var loaded = Fingerprints(files);
        string[]? changed = null;
        using var timer = new PeriodicTimer(PollInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var seen = Fingerprints(files);
            if (seen.SequenceEqual(loaded))
            {
                changed = null;
            }
            else if (changed is null || !seen.SequenceEqual(changed))
            {
                changed = seen;
            }
            else
            {
                loaded = seen;
                changed = null;
                Reload();
            }
        }
    }

    private void Reload()
    {
        _root.Reload();
        var before = live.Current;
        var problems = live.Reload();
        if (problems.Count > 0)
        {
            LogRefused(logger, before.Generation, before.LoadedAt, problems.Count, string.Join(" | ", problems));
        }
        else
        {
            var after = live.Current;
            var added = List(after.Models.All.Select(model => model.Id).Except(before.Models.All.Select(model => model.Id)));
            var removed = List(before.Models.All.Select(model => model.Id).Except(after.Models.All.Select(model => model.Id)));
            var kept = List(after.Providers.All.Where(before.Providers.All.Contains).Select(provider => provider.Name));
            var renewed = List(after.Providers.All.Where(provider => !before.Providers.All.Contains(provider)).Select(provider => provider.Name));
            LogApplied(logger, after.Generation, added, removed, kept, renewed);
            ConfigurationReport.Log(logger, after, before);
        }

        var hostSettings = HostSettings();
        foreach (var key in hostSettings.Keys.Union(_startupHostSettings.Keys).Order(StringComparer.OrdinalIgnoreCase))
        {
            if (hostSettings.GetValueOrDefault(key) != _startupHostSettings.GetValueOrDefault(key))
            {
                LogRestartNeeded(logger, key);
            }
        }
    }

    private Dictionary<string, string?> HostSettings() => _root.AsEnumerable()
        .Where(pair => pair.Value is not null && RestartKeys.Any(prefix => pair.Key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)))
        .ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.OrdinalIgnoreCase);

    /// <summary>A hash of each file's content; files that are missing or cannot be read have a fingerprint that says so.</summary>
    private static string[] Fingerprints(string[] files) => [.. files.Select(file =>
    {
        try
        {
            return File.Exists(file) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file))) : "missing";
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return $"unreadable: {exception.Message}";
        }
    })];

    private static string List(IEnumerable<string> names) => string.Join(", ", names.DefaultIfEmpty("none"));

    [LoggerMessage(Level = LogLevel.Information, Message =
        "Configuration reloaded (generation {Generation}): virtual models added {Added}, removed {Removed}; providers kept as they were {Kept}, new or changed {Renewed}. Requests already running finish on the configuration they started with.")]
    private static partial void LogApplied(ILogger logger, int generation, string added, string removed, string kept, string renewed);

    [LoggerMessage(Level = LogLevel.Error, Message =
        "Configuration reload refused: still serving generation {Generation}, loaded at {LoadedAt:O}. {Count} problem(s): {Problems}")]
    private static partial void LogRefused(ILogger logger, int generation, DateTimeOffset loadedAt, int count, string problems);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key} changed: it is read only at start-up, so it takes effect after a restart.")]
    private static partial void LogRestartNeeded(ILogger logger, string key);
}
