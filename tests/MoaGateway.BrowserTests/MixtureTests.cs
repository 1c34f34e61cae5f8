using Microsoft.Playwright;
using MoaGateway.BrowserTests.Infrastructure;
using MoaGateway.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace MoaGateway.BrowserTests;

/// <summary>A person runs a two-layer mixture and watches every agent, the failing one included, then the aggregator.</summary>
public sealed class MixtureTests(Chromium chromium) : PlaygroundTest(chromium)
{
    private const string Prompt = "Why is the sky blue?";

    /// <summary>Each proposer and the aggregator with a text of its own, so that a text in the wrong pane shows.</summary>
    private static readonly Dictionary<string, string> Answers = new()
    {
        ["together/qwen-2.5-72b"] = "Sunlight is scattered by the nitrogen and oxygen molecules of the air, and short blue wavelengths scatter far more than long red ones: Rayleigh scattering.",
        ["groq/llama-3.3-70b"] = "Rayleigh scattering goes as one over the wavelength to the fourth power, so blue light (450 nm) scatters about four times more than red (700 nm).",
        ["together/deepseek-v3"] = "Both references agree on Rayleigh scattering; one adds the inverse fourth-power law. Violet scatters even more, but sunlight holds less of it.",
        ["groq/qwen-qwq-32b"] = "The sky is blue rather than violet because the sun emits less violet, the upper atmosphere absorbs some, and our eyes are less sensitive to it.",
        ["together/qwen3-235b"] = "The sky is blue because air molecules scatter sunlight by Rayleigh scattering, which is much stronger for short wavelengths. Violet scatters most, but sunlight has less of it and our eyes favour blue, so we see a blue sky.",
    };

    private const string Failing = "together/mixtral-8x22b";

    protected override GatewaySettings Configure(GatewaySettings settings, FakeUpstream upstream)
    {
        foreach (var (agent, text) in Answers)
        {
            upstream.Reply(agent.Split('/')[1], new FakeReply { Text = text, TokenDelay = TimeSpan.FromMilliseconds(5) });
        }

        upstream.Reply(Failing.Split('/')[1], new FakeReply { Status = 503, ErrorMessage = "the model is overloaded" });
        return settings.Provider("together", upstream).Provider("groq", upstream)
            .Set("MoaGateway:Models:moa:Description", "Two proposer layers on fake upstreams, one proposer failing.")
            .Set("MoaGateway:Models:moa:Layers:0:Agents:0", "together/qwen-2.5-72b")
            .Set("MoaGateway:Models:moa:Layers:0:Agents:1", "groq/llama-3.3-70b")
            .Set("MoaGateway:Models:moa:Layers:0:Agents:2", Failing)
            .Set("MoaGateway:Models:moa:Layers:1:Agents:0", "together/deepseek-v3")
            .Set("MoaGateway:Models:moa:Layers:1:Agents:1", "groq/qwen-qwq-32b")
            .Set("MoaGateway:Models:moa:Aggregator", "together/qwen3-235b")
            .Set("MoaGateway:Models:moa:AggregatorFallbacks:0", "groq/llama-3.3-70b")
            .Set("MoaGateway:Overrides:Enabled", "true");
    }

    [Fact]
    public async Task A_prompt_runs_a_two_layer_mixture_showing_each_agent_in_its_own_pane_the_failed_one_with_its_error_then_the_answer()
    {
        var playground = await OpenAsync();

        await playground.RunAsync("moa", Prompt);

        await Expect(playground.PaneText("together/qwen3-235b")).ToHaveTextAsync(Answers["together/qwen3-235b"]);
        foreach (var (agent, text) in Answers.Where(answer => answer.Key != "together/qwen3-235b"))
        {
            await Expect(playground.PaneText(agent)).ToHaveTextAsync(text);
            await Expect(playground.PaneStatus(agent)).ToHaveTextAsync("answered");
            await Expect(playground.Pane(agent)).ToContainTextAsync("first token");
        }

        await Expect(playground.PaneStatus(Failing)).ToHaveTextAsync("failed");
        await Expect(playground.Pane(Failing)).ToContainTextAsync("503");
        await Expect(playground.Column("Layer 1")).ToContainTextAsync("2 answered, 1 failed");
        await Expect(playground.Column("Layer 2")).ToContainTextAsync("2 answered, 0 failed");
        await Expect(playground.PaneStatus("together/qwen3-235b")).ToHaveTextAsync("answered");
        await Expect(playground.Totals).ToContainTextAsync("Upstream calls6");
        await Expect(playground.Status).ToContainTextAsync("moa answered");

        // Readable at 1280x800: the layers and the aggregator side by side, in order, none cut off at the right.
        var columns = new List<float>();
        foreach (var name in new[] { "Layer 1", "Layer 2", "Aggregator" })
        {
            var box = (await playground.Column(name).BoundingBoxAsync())!;
            Assert.True(box.X + box.Width <= 1280, $"{name} ends at {box.X + box.Width}, beyond the 1280 px viewport");
            columns.Add(box.X);
        }

        Assert.Equal(columns.Order(), columns);
        playground.AssertNoProblems();
        await playground.ScreenshotAsync("docs/playground.png");
    }

    [Fact]
    public async Task A_pane_fills_while_its_agent_is_still_streaming()
    {
        var release = new TaskCompletionSource();
        Upstream.Reply("qwen-2.5-72b", new FakeReply { Text = "First words, then the rest.", HoldAfterFirstToken = release.Task });
        var playground = await OpenAsync();

        await playground.RunAsync("moa", Prompt);

        await Expect(playground.PaneText("together/qwen-2.5-72b")).ToHaveTextAsync("First");
        await Expect(playground.PaneStatus("together/qwen-2.5-72b")).ToHaveTextAsync("streaming");
        await Expect(playground.PaneText("groq/llama-3.3-70b")).ToHaveTextAsync(Answers["groq/llama-3.3-70b"]);
        await Expect(playground.PaneStatus("together/qwen3-235b")).Not.ToHaveTextAsync("answered");
        release.SetResult();
        await Expect(playground.PaneText("together/qwen-2.5-72b")).ToHaveTextAsync("First words, then the rest.");
        await Expect(playground.PaneText("together/qwen3-235b")).ToHaveTextAsync(Answers["together/qwen3-235b"]);
        playground.AssertNoProblems();
    }

    [Fact]
    public async Task Stop_ends_the_run_and_the_gateway_cancels_the_aggregator_call()
    {
        var never = new TaskCompletionSource();
        Upstream.Reply("qwen3-235b", new FakeReply { Text = "The sky is blue because", HoldAfterFirstToken = never.Task });
        var playground = await OpenAsync();
        await playground.RunAsync("moa", Prompt);
        await Expect(playground.PaneText("together/qwen3-235b")).ToHaveTextAsync("The");

        await playground.Page.GetByRole(AriaRole.Button, new() { Name = "Stop" }).ClickAsync();

        await Expect(playground.Status).ToHaveTextAsync("Stopped.");
        await Expect(playground.PaneStatus("together/qwen3-235b")).ToHaveTextAsync("stopped");
        await Expect(playground.Error).ToBeHiddenAsync();
        await Expect(playground.Page.GetByRole(AriaRole.Button, new() { Name = "Run the mixture" })).ToBeEnabledAsync();
        await Eventually.True(() => Upstream.AbortedModels.Contains("qwen3-235b"));
    }

    [Fact]
    public async Task When_a_fallback_answers_the_aggregator_pane_names_it_and_the_aggregator_that_failed()
    {
        Upstream.Reply("qwen3-235b", new FakeReply { Status = 503, ErrorMessage = "the aggregator is overloaded" });
        var playground = await OpenAsync();

        await playground.RunAsync("moa", Prompt);

        await Expect(playground.PaneText("groq/llama-3.3-70b").Last).ToHaveTextAsync(Answers["groq/llama-3.3-70b"]);
        await Expect(playground.Column("Aggregator")).ToContainTextAsync("answered by a fallback after together/qwen3-235b (failed)");
        await Expect(playground.Column("Aggregator").GetByRole(AriaRole.Article, new() { Name = "groq/llama-3.3-70b" })).ToBeVisibleAsync();
        playground.AssertNoProblems();
    }

    [Fact]
    public async Task An_answer_cut_off_mid_stream_is_shown_as_incomplete_with_the_reason()
    {
        Upstream.Reply("qwen3-235b", new FakeReply { Text = "The sky is", BreakAfterFirstToken = true });
        var playground = await OpenAsync();

        await playground.RunAsync("moa", Prompt);

        await Expect(playground.Error).ToContainTextAsync("The stream was cut off: the answer is incomplete");
        await Expect(playground.PaneStatus("together/qwen3-235b")).ToHaveTextAsync("incomplete");
        await Expect(playground.PaneText("together/qwen3-235b")).ToHaveTextAsync("The");
        await Expect(playground.Status).ToContainTextAsync("The run failed");
    }

    [Fact]
    public async Task A_mixture_whose_every_proposer_fails_is_shown_as_failed()
    {
        Upstream.ReplyWith(model => model.StartsWith("qwen3", StringComparison.Ordinal)
            ? new FakeReply()
            : new FakeReply { Status = 500, ErrorMessage = "internal error" });
        var playground = await OpenAsync();

        await playground.RunAsync("moa", Prompt);

        await Expect(playground.Error).ToBeVisibleAsync();
        await Expect(playground.Error).ToContainTextAsync("layer 1");
        await Expect(playground.PaneStatus("together/qwen-2.5-72b")).ToHaveTextAsync("failed");
        await Expect(playground.Column("Layer 1")).ToContainTextAsync("0 answered, 3 failed");
        await Expect(playground.PaneStatus("together/deepseek-v3")).ToHaveTextAsync("not run");
        await Expect(playground.PaneStatus("together/qwen3-235b")).ToHaveTextAsync("not run");
        Assert.Empty(Upstream.RequestsFor("qwen3-235b"));
    }

    [Fact]
    public async Task The_edited_topology_is_sent_as_the_moa_object_and_runs_exactly_the_agents_it_names()
    {
        var playground = await OpenAsync();
        var page = playground.Page;
        await Expect(playground.Model).ToBeEnabledAsync();

        await page.GetByText("Change the topology for one run").ClickAsync();
        await page.GetByLabel("Send this topology with the next run").CheckAsync();
        await page.GetByRole(AriaRole.Group, new() { Name = "Layer 2" })
            .GetByRole(AriaRole.Button, new() { Name = "Remove this layer" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Remove agent 3 of layer 1" }).ClickAsync();
        await page.GetByLabel("Samples of agent 1 of layer 1").FillAsync("2");
        await page.GetByRole(AriaRole.Combobox, new() { Name = "Aggregator" }).FillAsync("groq/llama-3.3-70b");
        await playground.RunAsync("moa", Prompt);

        await Expect(playground.PaneStatus("together/qwen-2.5-72b sample 1")).ToHaveTextAsync("answered");
        await Expect(playground.PaneStatus("together/qwen-2.5-72b sample 2")).ToHaveTextAsync("answered");
        await Expect(playground.Column("Aggregator").GetByRole(AriaRole.Log)).ToHaveTextAsync(Answers["groq/llama-3.3-70b"]);
        await Expect(playground.Totals).ToContainTextAsync("Upstream calls4");
        Assert.Equal(2, Upstream.RequestsFor("qwen-2.5-72b").Count);
        Assert.Equal(2, Upstream.RequestsFor("llama-3.3-70b").Count);
        Assert.Equal(["llama-3.3-70b", "qwen-2.5-72b"], Upstream.Requests.Select(request => request.Model).Distinct().Order());
        await Expect(page.GetByRole(AriaRole.Region, new() { Name = "Layer 2" })).ToHaveCountAsync(0);
        playground.AssertNoProblems();
    }
}
