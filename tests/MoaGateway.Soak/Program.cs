using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using MoaGateway.Soak;
using MoaGateway.Tests.Infrastructure;

// A bounded soak: MoA requests through the real gateway process, with injected upstream faults and client aborts.
// Usage: dotnet run -c Release --project tests/MoaGateway.Soak -- [requests] [concurrency] [gateway.dll]
var requests = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
var concurrency = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 32;
var gatewayDll = args.Length > 2 ? args[2] : FindGatewayDll();

await using var upstream = await FakeUpstream.StartAsync(record: false);
var faults = new FaultPlan(seed: 7, faultRate: 0.10);
upstream.ReplyWith(faults.Next);

var port = FreePort();
using var gateway = StartGateway(gatewayDll, port, upstream.BaseUrl);
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2, MaxResponseDrainSize = 0 })
{
    BaseAddress = new Uri($"http://127.0.0.1:{port}"),
    Timeout = Timeout.InfiniteTimeSpan,
};
await WaitUntilServingAsync(http, gateway);

var driver = new SoakDriver(http, model: "soak", clientAbortRate: 0.05, hangBound: TimeSpan.FromSeconds(30));
await driver.RunAsync(200, concurrency, seed: 1);
var memoryBefore = ProcessMemory.Read(gateway.Id);

var stopwatch = Stopwatch.StartNew();
var tally = await driver.RunAsync(requests, concurrency, seed: 2);
stopwatch.Stop();
await Task.Delay(TimeSpan.FromSeconds(2));
var memoryAfter = ProcessMemory.Read(gateway.Id);

Console.WriteLine($"soak: {requests} MoA requests (6 proposers + aggregator each), concurrency {concurrency}, {faults.Rate:P0} upstream faults, {driver.ClientAbortRate:P0} client aborts");
Console.WriteLine($"upstream faults injected:      {faults.Summary()}");
Console.WriteLine($"requests sent:                 {tally.Sent}");
Console.WriteLine($"complete answers:              {tally.Complete}");
Console.WriteLine($"well-formed errors:            {tally.WellFormedErrors} ({tally.ErrorStatuses()})");
Console.WriteLine($"client aborts (intended):      {tally.ClientAborts}");
Console.WriteLine($"truncated-as-success:          {tally.TruncatedAsSuccess}");
Console.WriteLine($"malformed (neither):           {tally.Malformed}");
Console.WriteLine($"hung (> {driver.HangBound.TotalSeconds:0} s):                 {tally.Hung}");
Console.WriteLine($"wall time:                     {stopwatch.Elapsed.TotalSeconds:0.0} s ({tally.Sent / stopwatch.Elapsed.TotalSeconds:0} requests/s)");
Console.WriteLine($"gateway memory before:         RSS {memoryBefore.RssMb:0.0} MB");
Console.WriteLine($"gateway memory after:          RSS {memoryAfter.RssMb:0.0} MB (peak {memoryAfter.PeakRssMb:0.0} MB)");
foreach (var example in tally.Examples)
{
    Console.WriteLine($"  example: {example}");
}

gateway.Kill(entireProcessTree: true);
return tally.TruncatedAsSuccess == 0 && tally.Hung == 0 && tally.Malformed == 0 ? 0 : 1;

static string FindGatewayDll()
{
    var root = AppContext.BaseDirectory;
    while (root is not null && !File.Exists(Path.Combine(root, "MoaGateway.sln")))
    {
        root = Path.GetDirectoryName(root);
    }

    var dll = Path.Combine(root ?? ".", "src", "MoaGateway", "bin", "Release", "net10.0", "MoaGateway.dll");
    return File.Exists(dll) ? dll : throw new FileNotFoundException($"Build the gateway first: dotnet build -c Release src/MoaGateway ({dll})");
}

static Process StartGateway(string dll, int port, string upstreamBaseUrl)
{
    var start = new ProcessStartInfo("dotnet", [dll])
    {
        WorkingDirectory = Path.GetDirectoryName(dll)!,
        RedirectStandardOutput = true,
        RedirectStandardError = true,
    };
    var environment = new Dictionary<string, string>
    {
        ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["Serilog__MinimumLevel__Default"] = "Warning",
        ["MoaGateway__SimulateProvidersWithoutKeys"] = "true",
        ["MoaGateway__Providers__fake__BaseUrl"] = upstreamBaseUrl,
        ["MoaGateway__Providers__fake__FirstTokenTimeoutSeconds"] = "0.5",
        ["MoaGateway__Providers__fake__TimeoutSeconds"] = "5",
        ["MoaGateway__Providers__fake__Retry__BaseDelayMs"] = "10",
        ["MoaGateway__Providers__fake__Retry__MaxDelayMs"] = "50",
        ["MoaGateway__Models__soak__Aggregator__Provider"] = "fake",
        ["MoaGateway__Models__soak__Aggregator__Model"] = "agg",
    };
    for (var i = 0; i < 6; i++)
    {
        environment[$"MoaGateway__Models__soak__Layers__0__Agents__{i}__Provider"] = "fake";
        environment[$"MoaGateway__Models__soak__Layers__0__Agents__{i}__Model"] = $"p{i + 1}";
    }

    foreach (var (name, value) in environment)
    {
        start.Environment[name] = value;
    }

    var process = Process.Start(start)!;
    process.OutputDataReceived += (_, line) => { if (line.Data is { Length: > 0 } text) Console.Error.WriteLine($"gateway: {text}"); };
    process.ErrorDataReceived += (_, line) => { if (line.Data is { Length: > 0 } text) Console.Error.WriteLine($"gateway: {text}"); };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return process;
}

static async Task WaitUntilServingAsync(HttpClient http, Process gateway)
{
    for (var attempt = 0; attempt < 300; attempt++)
    {
        if (gateway.HasExited)
        {
            throw new InvalidOperationException($"The gateway exited with code {gateway.ExitCode}.");
        }

        try
        {
            using var response = await http.GetAsync("/healthz");
            if (response.IsSuccessStatusCode)
            {
                return;
            }
        }
        catch (HttpRequestException)
        {
        }

        await Task.Delay(100);
    }

    throw new TimeoutException("The gateway did not start serving within 30 s.");
}

static int FreePort()
{
    using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
    listener.Start();
    return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
}
