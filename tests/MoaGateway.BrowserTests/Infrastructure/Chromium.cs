using Microsoft.Playwright;

[assembly: AssemblyFixture(typeof(MoaGateway.BrowserTests.Infrastructure.Chromium))]

namespace MoaGateway.BrowserTests.Infrastructure;

/// <summary>
/// Debian's Chromium, headless, driven by Playwright: launched once for the test run, a fresh browser context (its
/// own storage, cookies and viewport) for each page. Playwright downloads no browser here; the one on PATH is used.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    /// <summary>Set (to anything) where Chromium must be present, as in CI: its absence then fails the tests instead of skipping them.</summary>
    public const string RequireBrowserVariable = "MOAGATEWAY_REQUIRE_BROWSER";

    /// <summary>
    /// Keeps Chromium off the network: without these it reaches out to Google's hosts at start and in the background,
    /// and this machine's closed network refuses every such connection.
    /// </summary>
    private static readonly string[] Arguments =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary>Why no browser can be used, or null when one was launched.</summary>
    private string? _missing;

    public async ValueTask InitializeAsync()
    {
        var executable = Executable();
        if (executable is null)
        {
            _missing = "Chromium is not on PATH, so the browser tests cannot run: apt-get install chromium (.ci/run does).";
            TestContext.Current.SendDiagnosticMessage(_missing);
            return;
        }

        // Generous bounds for a loaded 2-core machine: a check fails only when the page is truly wrong.
        Assertions.SetDefaultExpectTimeout(20_000);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = executable, Headless = true, Args = Arguments });
    }

    /// <summary>A new, empty browser context, or the calling test skipped (failed where <see cref="RequireBrowserVariable"/> is set) without Chromium.</summary>
    public Task<IBrowserContext> NewContextAsync(int width, int height)
    {
        if (_browser is null)
        {
            if (Environment.GetEnvironmentVariable(RequireBrowserVariable) is { Length: > 0 })
            {
                Assert.Fail($"{RequireBrowserVariable} is set: a missing browser is a failure here. {_missing}");
            }

            Assert.Skip(_missing!);
        }

        return _browser.NewContextAsync(new() { ViewportSize = new() { Width = width, Height = height } });
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }

    private static string? Executable() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, "chromium"))
            .FirstOrDefault(File.Exists);
}
