using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace MoaGateway.Tests.Infrastructure;

/// <summary>The built gateway as a separate process, configured by environment variables only, its output captured.</summary>
public sealed class GatewayProcess : IDisposable
{
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _errors = new();

    private GatewayProcess(Process process, int port)
    {
        Process = process;
        Port = port;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public Process Process { get; }

    /// <summary>The loopback port in <c>ASPNETCORE_URLS</c>, unless the environment given overrides it.</summary>
    public int Port { get; }

    public HttpClient Http { get; }

    /// <summary>Lines the gateway wrote to standard output so far.</summary>
    public IReadOnlyList<string> Output => [.. _output];

    public string Errors => string.Join('\n', _errors);

    /// <summary>
    /// The shipped configuration in Production, simulated, with key variables that no machine sets, so that a
    /// developer's real keys are never used. Tests add to it.
    /// </summary>
    public static Dictionary<string, string> SimulatedEnvironment() => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["MoaGateway__SimulateProvidersWithoutKeys"] = "true",
        ["MoaGateway__Providers__together__ApiKeyEnv"] = "MOA_TEST_UNSET_TOGETHER",
        ["MoaGateway__Providers__openai__ApiKeyEnv"] = "MOA_TEST_UNSET_OPENAI",
        ["MoaGateway__Providers__groq__ApiKeyEnv"] = "MOA_TEST_UNSET_GROQ",
    };

    /// <summary>Everything the process wrote to standard output so far, as one text.</summary>
    public string OutputText => string.Join('\n', _output);

    /// <summary>Starts the gateway on a free loopback port; <c>ASPNETCORE_URLS</c> is set unless given.</summary>
    /// <param name="environment">Configuration, as environment variables.</param>
    /// <param name="gatewayDll">The built gateway; by default the one beside the running assembly.</param>
    /// <param name="arguments">The gateway's command line, such as <c>check</c> or <c>--MoaGateway:KeepAliveSeconds=5</c>.</param>
    /// <param name="workingDirectory">The current directory of the process; by default the gateway's own folder.</param>
    /// <param name="readOutput">False leaves standard output unread, as a stalled log collector would: its pipe fills up.</param>
    public static GatewayProcess Start(
        IReadOnlyDictionary<string, string> environment, string? gatewayDll = null, IEnumerable<string>? arguments = null,
        string? workingDirectory = null, bool readOutput = true)
    {
        var port = FreePort();
        gatewayDll ??= Path.Combine(AppContext.BaseDirectory, "MoaGateway.dll");
        var start = new ProcessStartInfo("dotnet", [gatewayDll, .. arguments ?? []])
        {
            WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(gatewayDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var gateway = new GatewayProcess(Process.Start(start)!, port);
        gateway.Process.OutputDataReceived += (_, line) => Collect(gateway._output, line.Data);
        gateway.Process.ErrorDataReceived += (_, line) => Collect(gateway._errors, line.Data);
        if (readOutput)
        {
            gateway.Process.BeginOutputReadLine();
        }

        gateway.Process.BeginErrorReadLine();
        return gateway;
    }

    public async Task WaitUntilServingAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (Process.HasExited)
            {
                throw new InvalidOperationException($"The gateway exited with code {Process.ExitCode}: {Errors}");
            }

            try
            {
                using var response = await Http.GetAsync("/healthz");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Sends SIGTERM, as an orchestrator does, and waits for the process to exit.</summary>
    public async Task<int> TerminateAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", Process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        return await ExitCodeAsync();
    }

    public async Task<int> ExitCodeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await Process.WaitForExitAsync(timeout.Token);
        return Process.ExitCode;
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }

        Process.Dispose();
        Http.Dispose();
    }

    private static void Collect(ConcurrentQueue<string> lines, string? line)
    {
        if (line is not null)
        {
            lines.Enqueue(line);
        }
    }

    /// <summary>A port the OS just handed out and took back, for a listener whose port must be known before it starts.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
