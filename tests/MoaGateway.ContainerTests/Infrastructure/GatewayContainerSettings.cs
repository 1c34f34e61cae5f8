namespace MoaGateway.ContainerTests.Infrastructure;

/// <summary>How a test runs the image: environment variables and mounted files, as an operator configures a container.</summary>
public sealed class GatewayContainerSettings
{
    private readonly Dictionary<string, string> _environment = new()
    {
        // No provider key reaches a test, so the shipped models are served by the built-in simulator.
        ["MoaGateway__SimulateProvidersWithoutKeys"] = "true",
    };

    private readonly Dictionary<string, string> _files = [];

    public IReadOnlyDictionary<string, string> Environment => _environment;

    /// <summary>Contents by path in the container, each bind-mounted read-only.</summary>
    public IReadOnlyDictionary<string, string> Files => _files;

    /// <summary>Read-only root filesystem with a tmpfs on /tmp, no capabilities and no privilege escalation, as in the Kubernetes manifests.</summary>
    public bool ReadOnlyRoot { get; private set; }

    public GatewayContainerSettings Set(string variable, string value)
    {
        _environment[variable] = value;
        return this;
    }

    public GatewayContainerSettings Mount(string path, string content)
    {
        _files[path] = content;
        return this;
    }

    public GatewayContainerSettings WithReadOnlyRoot()
    {
        ReadOnlyRoot = true;
        return this;
    }
}
