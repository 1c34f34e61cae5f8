using Deque.AxeCore.Playwright;
using MoaGateway.BrowserTests.Infrastructure;
using MoaGateway.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace MoaGateway.BrowserTests;

/// <summary>The page itself: it loads clean under its CSP, inserts what it receives as text, and reads on a phone.</summary>
public sealed class PageTests(Chromium chromium) : PlaygroundTest(chromium)
{
    private const string Markup = "<img src=x onerror=\"document.title='pwned'\"> <b>bold?</b>";

    protected override GatewaySettings Configure(GatewaySettings settings, FakeUpstream upstream)
    {
        upstream.Reply("alpha", new FakeReply { Text = $"alpha wrote {Markup}" })
            .Reply("judge", new FakeReply { Text = $"judge wrote {Markup}" });
        return settings.Provider("fake", upstream).Model("moa", [["alpha", "beta"]], "judge")
            .Set("MoaGateway:Providers:fake:Models:0", "gamma");
    }

    [Fact]
    public async Task The_page_loads_and_lists_the_models_with_no_console_error_and_no_csp_violation()
    {
        var playground = await OpenAsync();

        await Expect(playground.Model).ToBeEnabledAsync();
        await Expect(playground.Model.Locator("option")).ToHaveTextAsync(["moa"]);
        // A model the provider lists passes through: offered as an agent, never as a mixture to run.
        await Expect(playground.Page.Locator("#known-agents option[value='fake/gamma']")).ToHaveCountAsync(1);
        await Expect(playground.Pane("fake/alpha")).ToBeVisibleAsync();
        await Expect(playground.Pane("fake/beta")).ToBeVisibleAsync();
        await Expect(playground.Pane("fake/judge")).ToBeVisibleAsync();
        await Expect(playground.KeyField).ToBeHiddenAsync();
        playground.AssertNoProblems();
    }

    [Fact]
    public async Task Answers_that_contain_markup_are_shown_as_text_and_never_run()
    {
        var playground = await OpenAsync();

        await playground.RunAsync("moa", "Say something with tags in it");

        await Expect(playground.PaneText("fake/judge")).ToHaveTextAsync($"judge wrote {Markup}");
        await Expect(playground.PaneText("fake/alpha")).ToHaveTextAsync($"alpha wrote {Markup}");
        await Expect(playground.Page.Locator("#columns img, #columns b")).ToHaveCountAsync(0);
        Assert.Equal("MoaGateway playground", await playground.Page.TitleAsync());
        playground.AssertNoProblems();
    }

    [Fact]
    public async Task Axe_finds_no_accessibility_violation_on_the_page_after_a_run()
    {
        var playground = await OpenAsync();
        await playground.RunAsync("moa", "Check me");
        await Expect(playground.PaneText("fake/judge")).ToHaveTextAsync($"judge wrote {Markup}");

        var result = await playground.Page.RunAxe();

        Assert.True(result.Violations.Length == 0, string.Join("\n", result.Violations.Select(violation =>
            $"{violation.Id}: {violation.Help} at {string.Join(", ", violation.Nodes.Select(node => node.Html))}")));
    }

    [Fact]
    public async Task On_a_narrow_screen_the_columns_stack_and_nothing_scrolls_sideways()
    {
        var playground = await OpenAsync(width: 390, height: 844);

        await playground.RunAsync("moa", "Hello from a phone");

        await Expect(playground.PaneText("fake/judge")).ToHaveTextAsync($"judge wrote {Markup}");
        var layer = await playground.Column("Layer 1").BoundingBoxAsync();
        var aggregator = await playground.Column("Aggregator").BoundingBoxAsync();
        Assert.NotNull(layer);
        Assert.NotNull(aggregator);
        Assert.Equal(layer.X, aggregator.X, 1);
        Assert.True(aggregator.Y > layer.Y + layer.Height - 1, $"the aggregator (y {aggregator.Y}) is not below layer 1 (y {layer.Y}, height {layer.Height})");
        var overflow = await playground.Page.EvaluateAsync<int>("document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 0, $"the page is {overflow} px wider than the screen");
        playground.AssertNoProblems();
    }
}
