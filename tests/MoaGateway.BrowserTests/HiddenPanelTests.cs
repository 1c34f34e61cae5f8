using MoaGateway.BrowserTests.Infrastructure;
using MoaGateway.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace MoaGateway.BrowserTests;

/// <summary>A gateway that never shows proposers' answers still runs from the page, which says why the panes stay empty.</summary>
public sealed class HiddenPanelTests(Chromium chromium) : PlaygroundTest(chromium)
{
    protected override GatewaySettings Configure(GatewaySettings settings, FakeUpstream upstream)
    {
        upstream.Reply("judge", new FakeReply { Text = "Only the answer." })
            .Reply("beta", new FakeReply { Status = 400, ErrorMessage = "bad request for beta" });
        return settings.Provider("fake", upstream).Model("moa", [["alpha", "beta"]], "judge")
            .Set("MoaGateway:Panel:Expose", "never");
    }

    /// <summary>The page does not ask for the proposers' text here: the gateway would refuse the whole request with 403.</summary>
    [Fact]
    public async Task The_run_shows_the_answer_and_each_proposer_status_without_their_text_and_says_why()
    {
        var playground = await OpenAsync();

        await playground.RunAsync("moa", "Hello");

        await Expect(playground.PaneText("fake/judge")).ToHaveTextAsync("Only the answer.");
        await Expect(playground.PaneStatus("fake/alpha")).ToHaveTextAsync("answered");
        await Expect(playground.PaneStatus("fake/beta")).ToHaveTextAsync("failed");
        await Expect(playground.Pane("fake/beta")).ToContainTextAsync("bad request for beta");
        await Expect(playground.Column("Layer 1")).ToContainTextAsync("their text is not shown (MoaGateway:Panel:Expose is never)");
        playground.AssertNoProblems();
    }
}
