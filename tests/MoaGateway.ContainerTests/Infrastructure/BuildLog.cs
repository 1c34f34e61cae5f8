using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace MoaGateway.ContainerTests.Infrastructure;

/// <summary>What Testcontainers reports while it builds an image, kept so that a failed build can say why.</summary>
public sealed class BuildLog : ILogger
{
    private readonly ConcurrentQueue<string> _lines = new();

    public string Tail(int count) => string.Join('\n', _lines.TakeLast(count));

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        _lines.Enqueue(formatter(state, exception));
    }
}
