using System.Diagnostics;

namespace MoaGateway.Bench;

/// <summary>How many requests, at what concurrency, for at most how long.</summary>
internal readonly record struct LoadShape(int Concurrency, int Requests, TimeSpan MaxDuration);

internal sealed record LoadResult(IReadOnlyList<Sample> Samples, double WallSeconds);

/// <summary>Closed-loop load: a fixed number of workers, each sending its next request as soon as its last one ended.</summary>
internal static class Load
{
    /// <summary>Sends up to <see cref="LoadShape.Requests"/> requests; no new one starts after <see cref="LoadShape.MaxDuration"/>.</summary>
    public static async Task<LoadResult> RunAsync(Sender send, LoadShape shape)
    {
        var claimed = 0;
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, shape.Concurrency).Select(_ => Task.Run(async () =>
        {
            var samples = new List<Sample>();
            while (Stopwatch.GetElapsedTime(started) < shape.MaxDuration && Interlocked.Increment(ref claimed) <= shape.Requests)
            {
                samples.Add(await send(CancellationToken.None));
            }

            return samples;
        }));
        var all = (await Task.WhenAll(workers)).SelectMany(samples => samples).ToList();
        return new LoadResult(all, Stopwatch.GetElapsedTime(started).TotalSeconds);
    }
}

/// <summary>Samples a process's resident memory and threads every 200 ms while a run lasts.</summary>
internal sealed class ProcessSampler : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<List<ProcessUsage>> _samples;

    public ProcessSampler(ChildProcess process) => _samples = SampleAsync(process, _stop.Token);

    /// <summary>The median resident memory of the samples (the memory at steady load), and the most threads seen.</summary>
    public async Task<(double SteadyRssMb, int MostThreads)> StopAsync()
    {
        await _stop.CancelAsync();
        var samples = await _samples;
        return samples.Count == 0
            ? (double.NaN, 0)
            : (samples.Select(sample => sample.RssMb).Order().ElementAt(samples.Count / 2), samples.Max(sample => sample.Threads));
    }

    public void Dispose() => _stop.Dispose();

    private static async Task<List<ProcessUsage>> SampleAsync(ChildProcess process, CancellationToken stop)
    {
        var samples = new List<ProcessUsage>();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                samples.Add(process.Usage());
            }
        }
        catch (OperationCanceledException)
        {
        }

        return samples;
    }
}
