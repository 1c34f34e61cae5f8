using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using MoaGateway.Bench.Upstream;

// A fast fake OpenAI-compatible upstream for the benchmark, on loopback only.
// Usage: MoaGateway.Bench.Upstream --port 9000 [--ttft-ms 30] [--itl-ms 10] [--tokens 24]
// A model named "name@ttft=30,itl=10,n=24" overrides any of the three for its requests.
var options = args.Chunk(2).ToDictionary(pair => pair[0], pair => pair.Length > 1 ? pair[1] : throw new ArgumentException($"{pair[0]} needs a value."));
double Number(string name, double fallback) =>
    options.TryGetValue(name, out var text) ? double.Parse(text, CultureInfo.InvariantCulture) : fallback;

var port = (int)Number("--port", 0);
var defaults = new Pacing(Number("--ttft-ms", 30), Number("--itl-ms", 10), (int)Number("--tokens", 24));

var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [] });
builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxConcurrentConnections = null;
    // Paced streams send little for long stretches; Kestrel must not take them for slow readers.
    kestrel.Limits.MinResponseDataRate = null;
    kestrel.Listen(IPAddress.Loopback, port);
});

var app = builder.Build();
app.Run(new ChatCompletions(defaults).HandleAsync);
await app.StartAsync();
Console.WriteLine($"bench upstream listening on {app.Urls.First()} (default pacing {defaults})");
await app.WaitForShutdownAsync();
