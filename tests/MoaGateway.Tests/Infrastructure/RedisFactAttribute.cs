namespace MoaGateway.Tests.Infrastructure;

/// <summary>A test that needs Debian's redis-server: skipped, with the reason in the test output, where it is not installed, unless CI requires it.</summary>
public sealed class RedisFactAttribute : FactAttribute
{
    public RedisFactAttribute()
    {
        if (RedisServer.Executable is null && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(RedisServer.RequireVariable)))
        {
            Skip = $"redis-server is not installed (apt-get install -y redis-server); set {RedisServer.RequireVariable}=1 to fail instead of skipping.";
        }
    }
}
