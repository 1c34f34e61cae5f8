using Microsoft.Playwright;
using MoaGateway.BrowserTests.Infrastructure;
using MoaGateway.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace MoaGateway.BrowserTests;

/// <summary>With client keys configured, the page asks for one, keeps it in the tab only, and says when it is refused.</summary>
public sealed class KeyTests(Chromium chromium) : PlaygroundTest(chromium)
{
    private const string Key = "sk-client-playground-8f2c41";

    protected override GatewaySettings Configure(GatewaySettings settings, FakeUpstream upstream)
    {
        upstream.Reply("judge", new FakeReply { Text = "The judged answer." });
        return settings.Provider("fake", upstream).Model("moa", [["alpha", "beta"]], "judge")
            .Auth("browser", Key)
            // The page's model list is the first request of the minute, so the third is one too many.
            .Set("MoaGateway:Auth:Keys:browser:RequestsPerMinute", "2");
    }

    [Fact]
    public async Task The_page_asks_for_a_key_refuses_a_wrong_one_and_runs_with_the_right_one_kept_in_the_tab_only()
    {
        var playground = await OpenAsync();

        await Expect(playground.KeyField).ToBeVisibleAsync();
        await Expect(playground.Status).ToContainTextAsync("needs an API key");
        await Expect(playground.Model).ToBeDisabledAsync();

        await playground.KeyField.FillAsync("sk-wrong");
        await playground.KeyField.PressAsync("Enter");
        await Expect(playground.Error).ToContainTextAsync("The API key is missing or wrong (401)");
        await Expect(playground.KeyField).ToBeVisibleAsync();

        await playground.KeyField.FillAsync(Key);
        await playground.Page.GetByRole(AriaRole.Button, new() { Name = "Use this key" }).ClickAsync();
        await Expect(playground.Model).ToBeEnabledAsync();
        await Expect(playground.Error).ToBeHiddenAsync();
        await Expect(playground.KeyField).ToBeHiddenAsync();
        await Expect(playground.Page.GetByText("A client key is in use, kept in this tab only.")).ToBeVisibleAsync();
        await playground.RunAsync("moa", "Hello with a key");

        await Expect(playground.PaneText("fake/judge")).ToHaveTextAsync("The judged answer.");
        Assert.Equal(Key, await playground.Page.EvaluateAsync<string>("sessionStorage.getItem('moagateway.playground.key')"));
        Assert.Equal(0, await playground.Page.EvaluateAsync<int>("localStorage.length"));
        Assert.Equal("", await playground.Page.EvaluateAsync<string>("document.cookie"));
        Assert.Empty(await playground.Page.Context.CookiesAsync());
    }

    [Fact]
    public async Task A_key_over_its_rate_limit_is_told_to_wait()
    {
        var playground = await OpenAsync();
        await playground.KeyField.FillAsync(Key);
        await playground.KeyField.PressAsync("Enter");
        await playground.RunAsync("moa", "First");
        await Expect(playground.PaneText("fake/judge")).ToHaveTextAsync("The judged answer.");

        await playground.Page.GetByRole(AriaRole.Button, new() { Name = "Run the mixture" }).ClickAsync();

        await Expect(playground.Error).ToContainTextAsync("Too many requests (429)");
        await Expect(playground.Error).ToContainTextAsync("Retry after");
        Assert.Single(Upstream.RequestsFor("judge"));
    }
}
