using System.ClientModel;
using System.ClientModel.Primitives;
using Docker.DotNet.Models;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Images;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;

namespace MoaGateway.ContainerTests.Infrastructure;

/// <summary>
/// One container of the gateway image, published on a loopback port and handed over only once its HEALTHCHECK
/// reports healthy. Disposing removes the container and the files it was given, whether the test passed or not.
/// </summary>
public sealed class GatewayContainer : IAsyncDisposable
{
    private const int Port = 8080;

    private readonly DirectoryInfo _files;

    private GatewayContainer(IContainer container, DirectoryInfo files)
    {
        Container = container;
        _files = files;
        BaseAddress = new Uri($"http://127.0.0.1:{container.GetMappedPublicPort(Port)}");
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(120) };
    }

    public IContainer Container { get; }

    public Uri BaseAddress { get; }

    /// <summary>A raw HTTP client for wire-format checks.</summary>
    public HttpClient Http { get; }

    public static async Task<GatewayContainer> StartAsync(GatewayImage image, GatewayContainerSettings settings, CancellationToken cancellationToken)
    {
        image.RequireEngine();
        var files = Directory.CreateTempSubdirectory("moagateway-container-");
        IContainer? container = null;
        try
        {
            var builder = (await ConfigureAsync(settings, files, cancellationToken))
                .WithWaitStrategy(Wait.ForUnixContainer().UntilContainerIsHealthy(failingStreak: 3, o => o.WithTimeout(TimeSpan.FromSeconds(120))));
            container = builder.Build();
            await container.StartAsync(cancellationToken);
            return new GatewayContainer(container, files);
        }
        catch (Exception failure)
        {
            var diagnosis = container is null || failure is OperationCanceledException ? null : await DiagnoseAsync(container);
            if (container is not null)
            {
                await container.DisposeAsync();
            }

            files.Delete(recursive: true);
            if (diagnosis is null)
            {
                throw;
            }

            throw new InvalidOperationException($"The gateway container did not turn healthy: {failure.Message}\n{diagnosis}", failure);
        }
    }

    /// <summary>Runs the image with <paramref name="arguments"/> (such as <c>check</c>) until it exits, as <c>docker run --rm</c> does.</summary>
    public static async Task<(long ExitCode, string Stdout, string Stderr)> RunToExitAsync(
        GatewayImage image, GatewayContainerSettings settings, string[] arguments, CancellationToken cancellationToken)
    {
        image.RequireEngine();
        var files = Directory.CreateTempSubdirectory("moagateway-container-");
        try
        {
            await using var container = (await ConfigureAsync(settings, files, cancellationToken)).WithCommand(arguments).Build();
            await container.StartAsync(cancellationToken);
            var exitCode = await container.GetExitCodeAsync(cancellationToken);
            var (stdout, stderr) = await container.GetLogsAsync(timestampsEnabled: false, ct: cancellationToken);
            return (exitCode, stdout, stderr);
        }
        finally
        {
            files.Delete(recursive: true);
        }
    }

    /// <summary>The official OpenAI SDK pointed at the container, with its own retries off so every failure is seen as it is.</summary>
    public OpenAIClient OpenAiClient(string apiKey = "client-key-unused") => new(
        new ApiKeyCredential(apiKey),
        new OpenAIClientOptions
        {
            Endpoint = new Uri(BaseAddress, "/v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(120),
        });

    public ChatClient ChatClient(string model, string apiKey = "client-key-unused") => OpenAiClient(apiKey).GetChatClient(model);

    public OpenAIModelClient ModelClient() => OpenAiClient().GetOpenAIModelClient();

    /// <summary>Everything the container wrote so far, without Docker's timestamps.</summary>
    public Task<(string Stdout, string Stderr)> LogsAsync(CancellationToken cancellationToken) =>
        Container.GetLogsAsync(timestampsEnabled: false, ct: cancellationToken);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Container.DisposeAsync();
        _files.Delete(recursive: true);
    }

    /// <summary>The container as configured by <paramref name="settings"/>, its files written to <paramref name="files"/> and mounted.</summary>
    private static async Task<ContainerBuilder> ConfigureAsync(GatewayContainerSettings settings, DirectoryInfo files, CancellationToken cancellationToken)
    {
        var builder = new ContainerBuilder(GatewayImage.Tag)
            .WithImagePullPolicy(PullPolicy.Missing)
            .WithEnvironment(settings.Environment)
            .WithPortBinding(Port, assignRandomHostPort: true)
            .WithCreateParameterModifier(container =>
            {
                // As `docker run --publish 127.0.0.1::8080 --health-interval 1s --stop-timeout 40`: the image's own
                // check, probed often so a test need not wait 10 s for it, and the drain plus a margin before SIGKILL.
                var host = container.HostConfig ?? throw new InvalidOperationException("Testcontainers created no host configuration.");
                foreach (var binding in host.PortBindings?.Values.SelectMany(bindings => bindings) ?? [])
                {
                    binding.HostIP = "127.0.0.1";
                }

                container.Healthcheck = new HealthcheckConfig { Interval = TimeSpan.FromSeconds(1) };
                container.StopTimeout = TimeSpan.FromSeconds(40);
                if (settings.ReadOnlyRoot)
                {
                    host.ReadonlyRootfs = true;
                    host.CapDrop = ["ALL"];
                    host.SecurityOpt = ["no-new-privileges"];
                }
            });
        foreach (var (path, content) in settings.Files)
        {
            builder = builder.WithBindMount(await WriteAsync(files, path, content, cancellationToken), path, AccessMode.ReadOnly);
        }

        return settings.ReadOnlyRoot ? builder.WithTmpfsMount("/tmp") : builder;
    }

    /// <summary>Writes a file to mount at <paramref name="path"/> in the container, readable by the gateway's own user.</summary>
    private static async Task<string> WriteAsync(DirectoryInfo files, string path, string content, CancellationToken cancellationToken)
    {
        var file = Path.Combine(files.FullName, path.TrimStart('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await File.WriteAllTextAsync(file, content, cancellationToken);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }

        return file;
    }

    private static async Task<string> DiagnoseAsync(IContainer container)
    {
        var (stdout, stderr) = await container.GetLogsAsync(timestampsEnabled: false, ct: CancellationToken.None);
        return $"state {container.State}, health {container.Health}\nstdout:\n{Tail(stdout)}\nstderr:\n{Tail(stderr)}";
    }

    private static string Tail(string log) => string.Join('\n', log.Split('\n').TakeLast(40));
}
