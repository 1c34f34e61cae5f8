using System.Diagnostics;
using Docker.DotNet.Models;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Images;

namespace MoaGateway.ContainerTests.Infrastructure;

/// <summary>
/// The gateway's image, built once per test run from the repository's Dockerfile by the engine Testcontainers finds.
/// Build arguments come from the variables docker-compose.yml reads as well (<c>SDK_IMAGE</c>, <c>RUNTIME_IMAGE</c>,
/// <c>NUGET_SOURCE</c>); unset, the Dockerfile's defaults apply. The image is kept afterwards as build cache.
/// </summary>
public sealed class GatewayImage : IAsyncLifetime
{
    /// <summary>Set (to anything) where an engine must answer, as in CI: a missing engine then fails the tests instead of skipping them.</summary>
    public const string RequireDockerVariable = "MOAGATEWAY_REQUIRE_DOCKER";

    public const string Tag = "moagateway:container-tests";

    private const string DefaultRuntimeImage = "mcr.microsoft.com/dotnet/aspnet:10.0";
    private static readonly string[] BuildArguments = ["SDK_IMAGE", "RUNTIME_IMAGE", "NUGET_SOURCE"];

    private readonly BuildLog _log = new();

    /// <summary>Why no engine can be used, or null when one answered.</summary>
    private string? _noEngine;

    /// <summary>The base of the image's runtime stage, as passed to the build.</summary>
    public static string RuntimeImage => Variable("RUNTIME_IMAGE") ?? DefaultRuntimeImage;

    public async ValueTask InitializeAsync()
    {
        var builder = new ImageFromDockerfileBuilder()
            .WithDockerfileDirectory(CommonDirectoryPath.GetSolutionDirectory(), string.Empty)
            .WithDockerfile("Dockerfile")
            .WithName(Tag)
            // Each build labels its image with a new session, so the previous image goes first instead of lingering
            // untagged; its build stage stays cached. A reaper never deletes this one: it is the next build's cache.
            .WithDeleteIfExists(true)
            .WithCleanUp(false)
            .WithLogger(_log);
        foreach (var name in BuildArguments)
        {
            if (Variable(name) is { } value)
            {
                builder = builder.WithBuildArgument(name, value);
            }
        }

        IFutureDockerImage image;
        try
        {
            image = builder.Build();
        }
        catch (DockerUnavailableException unavailable)
        {
            _noEngine = "No Docker engine answers, so the container tests cannot run. On Docker Engine 20.10 set " +
                $"DOCKER_API_VERSION=1.41 (README.md, 'The container stage of CI').\n{unavailable.Message}";
            TestContext.Current.SendDiagnosticMessage(_noEngine);
            return;
        }

        var started = Stopwatch.StartNew();
        try
        {
            await image.CreateAsync(TestContext.Current.CancellationToken);
        }
        catch (Exception failure) when (failure is not OperationCanceledException)
        {
            throw new InvalidOperationException($"docker build of {Tag} failed: {failure.Message}\n{_log.Tail(40)}", failure);
        }

        TestContext.Current.SendDiagnosticMessage($"{Tag} built from the Dockerfile in {started.Elapsed.TotalSeconds:0} s");
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Skips the calling test when no engine answers, or fails it where <see cref="RequireDockerVariable"/> is set.</summary>
    public void RequireEngine()
    {
        if (_noEngine is null)
        {
            return;
        }

        if (Variable(RequireDockerVariable) is not null)
        {
            Assert.Fail($"{RequireDockerVariable} is set: a missing engine is a failure here. {_noEngine}");
        }

        Assert.Skip(_noEngine);
    }

    public async Task<ImageInspectResponse> InspectAsync(string image, CancellationToken cancellationToken)
    {
        RequireEngine();
        using var docker = TestcontainersSettings.OS.DockerEndpointAuthConfig.GetDockerClientBuilder(ResourceReaper.DefaultSessionId).Build();
        return await docker.Images.InspectImageAsync(image, cancellationToken);
    }

    private static string? Variable(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
}
