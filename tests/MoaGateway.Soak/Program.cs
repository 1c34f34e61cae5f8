using System.Diagnostics;
using System.Globalization;
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

using var gateway = GatewayProcess.Start(GatewayEnvironment(upstream.BaseUrl), gatewayDll);
await gateway.WaitUntilServingAsync();
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2, MaxResponseDrainSize = 0 })
{
    BaseAddress = gateway.Http.BaseAddress,
    Timeout = Timeout.InfiniteTimeSpan,
};

var driver = new SoakDriver(http, model: "soak", clientAbortRate: 0.05, hangBound: TimeSpan.FromSeconds(30));
await driver.RunAsync(200, concurrency, seed: 1);
var memoryBefore = ProcessMemory.Read(gateway.Process.Id);

var stopwatch = Stopwatch.StartNew();
var tally = await driver.RunAsync(requests, concurrency, seed: 2);
stopwatch.Stop();
await Task.Delay(TimeSpan.FromSeconds(2));
var memoryAfter = ProcessMemory.Read(gateway.Process.Id);

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

static Dictionary<string, string> GatewayEnvironment(string upstreamBaseUrl)
{
    var environment = new Dictionary<string, string>
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["Serilog__MinimumLevel__Default"] = "Warning",
        ["MoaGateway__SimulateProvidersWithoutKeys"] = "true",
        ["MoaGateway__Providers__fake__BaseUrl"] = upstreamBaseUrl,
        // Long enough that a busy machine's own scheduling delays are not taken for upstream faults (which trip the
        // circuit breaker and turn the soak into a measure of CPU starvation); the injected hang lasts far longer.
        ["MoaGateway__Providers__fake__FirstTokenTimeoutSeconds"] = "2",
        ["MoaGateway__Providers__fake__TimeoutSeconds"] = "10",
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

    return environment;
}
