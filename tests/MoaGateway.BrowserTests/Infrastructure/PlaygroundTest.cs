using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.BrowserTests.Infrastructure;

/// <summary>
/// A fresh fake upstream and a gateway configured against it, with the playground on, for each test; the page is
/// opened by the test, so that a test without Chromium is skipped by the test itself.
/// </summary>
public abstract class PlaygroundTest(Chromium chromium) : IAsyncLifetime
{
    private readonly List<PlaygroundPage> _pages = [];

    protected FakeUpstream Upstream { get; private set; } = null!;

    protected GatewayHost Gateway { get; private set; } = null!;

    /// <summary>The gateway's settings, the playground on; <paramref name="upstream"/> is already running.</summary>
    protected abstract GatewaySettings Configure(GatewaySettings settings, FakeUpstream upstream);

    public async ValueTask InitializeAsync()
    {
        Upstream = await FakeUpstream.StartAsync();
        Gateway = await GatewayHost.StartAsync(Configure(new GatewaySettings().Set("MoaGateway:Playground:Enabled", "true"), Upstream));
    }

    /// <summary>The playground in a new tab of its own (its own sessionStorage); skips the test without Chromium.</summary>
    protected async Task<PlaygroundPage> OpenAsync(int width = 1280, int height = 800)
    {
        var page = await PlaygroundPage.OpenAsync(chromium, Gateway.BaseAddress, width, height);
        _pages.Add(page);
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        var output = TestContext.Current.TestOutputHelper;
        for (var i = 0; i < _pages.Count; i++)
        {
            var page = _pages[i];
            // Shown beside a failure: what the page said went wrong, and what it showed at the end, explain most of them.
            foreach (var problem in page.Problems)
            {
                output?.WriteLine(problem);
            }

            var screenshot = Path.Combine(AppContext.BaseDirectory, "screenshots", $"{TestContext.Current.TestMethod?.MethodName}-{i}.png");
            await page.Page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
            output?.WriteLine($"the page at the end: {screenshot}");

            await page.DisposeAsync();
        }

        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
