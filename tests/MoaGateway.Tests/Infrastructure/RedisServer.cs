using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace MoaGateway.Tests.Infrastructure;

/// <summary>
/// Debian's <c>redis-server</c> on a free loopback port, without persistence, for one test: killed (SIGKILL, as a crash
/// would) and started again on the same port, or frozen (SIGSTOP, as a hung server) and thawed, on demand; always
/// killed when disposed.
/// </summary>
public sealed class RedisServer : IDisposable
{
    /// <summary>Set in CI, so that a missing redis-server fails the tests instead of skipping them.</summary>
    public const string RequireVariable = "MOAGATEWAY_REQUIRE_REDIS";

    private readonly string? _password;
    private Process? _process;

    private RedisServer(int port, string? password)
    {
        Port = port;
        _password = password;
    }

    /// <summary>The path of redis-server on PATH, or null when it is not installed.</summary>
    public static string? Executable { get; } = (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(directory => Path.Combine(directory, "redis-server"))
        .FirstOrDefault(File.Exists);

    public int Port { get; }

    /// <summary>The StackExchange.Redis configuration string the gateway is given.</summary>
    public string Configuration => _password is null ? $"127.0.0.1:{Port}" : $"127.0.0.1:{Port},password={_password}";

    /// <param name="password">Set: the server requires it (<c>requirepass</c>).</param>
    public static async Task<RedisServer> StartAsync(string? password = null)
    {
        var server = new RedisServer(GatewayProcess.FreePort(), password);
        await server.RestartAsync();
        return server;
    }

    /// <summary>Starts the server (again, after <see cref="Kill"/>) on its port, empty, and waits until it answers.</summary>
    public async Task RestartAsync()
    {
        var executable = Executable ?? throw new InvalidOperationException(
            $"redis-server is not installed (apt-get install -y redis-server), and {RequireVariable} says the Redis tests must run.");
        string[] arguments =
        [
            "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            .. _password is null ? Array.Empty<string>() : ["--requirepass", _password],
        ];
        _process = Process.Start(new ProcessStartInfo(executable, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Eventually.True(AnswersAsync);
    }

    /// <summary>Kills the server with SIGKILL: connections drop at once, and every count it held is gone.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            process.WaitForExit();
        }
    }

    /// <summary>Stops the server with SIGSTOP: connections stay open and nothing is answered, as with a Redis that hangs.</summary>
    public Task FreezeAsync() => SignalAsync("-STOP");

    /// <summary>Lets a frozen server go on (SIGCONT), with every count it held.</summary>
    public Task ThawAsync() => SignalAsync("-CONT");

    public void Dispose()
    {
        Kill();
        _process?.Dispose();
    }

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [signal, _process!.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    private async Task<bool> AnswersAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", Port);
            using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
            var command = _password is null ? "PING\r\n" : $"AUTH {_password}\r\nPING\r\n";
            await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(command));
            for (var replies = _password is null ? 1 : 2; replies > 1; replies--)
            {
                await reader.ReadLineAsync();
            }

            return await reader.ReadLineAsync() == "+PONG";
        }
        catch (Exception exception) when (exception is SocketException or IOException)
        {
            return false;
        }
    }
}
