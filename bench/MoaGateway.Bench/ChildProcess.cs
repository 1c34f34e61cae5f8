using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace MoaGateway.Bench;

/// <summary>CPU time, memory and threads of a process, from Linux's /proc.</summary>
internal readonly record struct ProcessUsage(double CpuSeconds, double RssMb, double PeakRssMb, int Threads)
{
    /// <summary>USER_HZ, the unit of utime and stime in /proc/&lt;pid&gt;/stat: 100 on every Linux architecture .NET runs on.</summary>
    private const double ClockTicksPerSecond = 100;

    public static ProcessUsage Read(int pid)
    {
        // utime and stime are fields 14 and 15; the command name (field 2) may hold spaces, so count from its closing parenthesis.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);

        var status = File.ReadAllLines($"/proc/{pid}/status");
        double Field(string key) => double.Parse(
            status.First(line => line.StartsWith(key, StringComparison.Ordinal))[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);

        return new ProcessUsage(ticks / ClockTicksPerSecond, Field("VmRSS:") / 1024, Field("VmHWM:") / 1024, (int)Field("Threads:"));
    }
}

/// <summary>A server the benchmark starts (the gateway, the bench upstream, Portkey), on a loopback port of its own, killed on disposal.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ChildProcess(string name, Process process, int port)
    {
        Name = name;
        _process = process;
        Port = port;
    }

    public string Name { get; }

    public int Port { get; }

    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    public ProcessUsage Usage() => ProcessUsage.Read(_process.Id);

    /// <summary>Makes the peak resident memory (VmHWM) start again from the current value, so that it tells the peak of what follows.</summary>
    public void ResetPeakMemory() => File.WriteAllText($"/proc/{_process.Id}/clear_refs", "5");

    /// <summary>Starts <paramref name="program"/> in the folder of <paramref name="entryFile"/>; <c>{port}</c> in an argument or environment value stands for a free loopback port.</summary>
    public static ChildProcess Start(
        string name, string program, string entryFile, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        var port = FreePort();
        string WithPort(string text) => text.Replace("{port}", port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);

        var entry = Path.GetFullPath(entryFile);
        var start = new ProcessStartInfo(program, [entry, .. arguments.Select(WithPort)])
        {
            // The gateway reads appsettings.json from its working directory, which is its build output.
            WorkingDirectory = Path.GetDirectoryName(entry),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (variable, value) in environment)
        {
            start.Environment[variable] = WithPort(value);
        }

        var child = new ChildProcess(name, Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start."), port);
        child._process.OutputDataReceived += (_, line) => child.Keep(line.Data);
        child._process.ErrorDataReceived += (_, line) => child.Keep(line.Data);
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits until the server answers <paramref name="path"/> with any HTTP status, for at most 60 s.</summary>
    public async Task WaitUntilServingAsync(string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode}:\n{RecentOutput}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(BaseUri, path));
                return;
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException($"{Name} did not answer within 60 s:\n{RecentOutput}");
    }

    public string RecentOutput => string.Join('\n', _output.TakeLast(20));

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 200 && _output.TryDequeue(out _))
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
