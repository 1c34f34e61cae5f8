namespace MoaGateway.Tests.Infrastructure;

/// <summary>Polls for a condition that the system under test makes true asynchronously, failing after a generous bound.</summary>
public static class Eventually
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    public static Task True(Func<bool> condition) => True(() => Task.FromResult(condition()));

    public static async Task True(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"condition not met within {Bound.TotalSeconds} s");
            await Task.Delay(10);
        }
    }
}
