using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace MoaGateway.BrowserTests.Infrastructure;

/// <summary>
/// The playground open in a browser tab of its own, found the way a person finds things on it (labels, roles,
/// headings), with every console error or warning, uncaught script error and Content-Security-Policy violation recorded.
/// </summary>
public sealed class PlaygroundPage : IAsyncDisposable
{
    /// <summary>Reports violations from the page itself; Playwright injects it outside the page's CSP.</summary>
    private const string ViolationListener =
        "document.addEventListener('securitypolicyviolation', (e) => window.reportViolation(`${e.violatedDirective} blocked ${e.blockedURI}`));";

    private readonly IBrowserContext _context;
    private readonly ConcurrentQueue<string> _problems = new();

    private PlaygroundPage(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
    }

    public IPage Page { get; }

    /// <summary>Console errors and warnings, uncaught errors and CSP violations, in the order they came.</summary>
    public IReadOnlyList<string> Problems => [.. _problems];

    public ILocator Model => Page.GetByLabel("Virtual model");

    public ILocator Prompt => Page.GetByLabel("Prompt");

    public ILocator KeyField => Page.GetByLabel("API key");

    public ILocator Error => Page.GetByRole(AriaRole.Alert);

    public ILocator Status => Page.Locator("#status");

    public ILocator Totals => Page.GetByRole(AriaRole.Region, new() { Name = "Totals of the request" });

    /// <param name="chromium">The browser.</param>
    /// <param name="gateway">The gateway's address; the page is its <c>/playground</c>.</param>
    /// <param name="width">The viewport's width: 1280 for a laptop, under 720 for a phone.</param>
    /// <param name="height">The viewport's height.</param>
    public static async Task<PlaygroundPage> OpenAsync(Chromium chromium, Uri gateway, int width = 1280, int height = 800)
    {
        var context = await chromium.NewContextAsync(width, height);
        var page = await context.NewPageAsync();
        var playground = new PlaygroundPage(context, page);
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                playground._problems.Enqueue($"console {message.Type}: {message.Text}");
            }
        };
        page.PageError += (_, error) => playground._problems.Enqueue($"uncaught: {error}");
        await page.ExposeFunctionAsync("reportViolation", (string violation) => playground._problems.Enqueue($"CSP violation: {violation}"));
        await page.AddInitScriptAsync(ViolationListener);
        await page.GotoAsync(new Uri(gateway, "/playground").ToString());
        return playground;
    }

    /// <summary>An agent's pane, by the <c>provider/model</c> (and sample) it is labelled with.</summary>
    public ILocator Pane(string name) => Page.GetByRole(AriaRole.Article, new() { Name = name, Exact = true });

    /// <summary>The text an agent's pane shows.</summary>
    public ILocator PaneText(string name) => Pane(name).GetByRole(AriaRole.Log);

    public ILocator PaneStatus(string name) => Pane(name).Locator(".badge");

    public ILocator Column(string name) => Page.GetByRole(AriaRole.Region, new() { Name = name, Exact = true });

    /// <summary>Picks <paramref name="model"/>, types <paramref name="prompt"/> and presses the button, as a person does.</summary>
    public async Task RunAsync(string model, string prompt)
    {
        await Model.SelectOptionAsync(new SelectOptionValue { Value = model });
        await Prompt.FillAsync(prompt);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Run the mixture" }).ClickAsync();
    }

    public void AssertNoProblems() => Assert.True(_problems.IsEmpty, $"the page reported problems:\n{string.Join("\n", _problems)}");

    /// <summary>
    /// Saves what the page shows, whole: beside the test's output, and over <paramref name="path"/> in the repository
    /// only when <c>MOAGATEWAY_UPDATE_SCREENSHOTS</c> is set, so that an ordinary test run leaves the tree as it was.
    /// </summary>
    public async Task ScreenshotAsync(string path)
    {
        var file = Environment.GetEnvironmentVariable("MOAGATEWAY_UPDATE_SCREENSHOTS") is { Length: > 0 }
            ? Path.Combine(RepositoryRoot(), path)
            : Path.Combine(AppContext.BaseDirectory, "screenshots", Path.GetFileName(path));
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await Page.ScreenshotAsync(new() { Path = file, FullPage = true });
        Assert.True(new FileInfo(file).Length > 0, $"no screenshot was written to {file}");
    }

    public async ValueTask DisposeAsync() => await _context.DisposeAsync();

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "MoaGateway.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No MoaGateway.sln above {AppContext.BaseDirectory}.");
    }
}
