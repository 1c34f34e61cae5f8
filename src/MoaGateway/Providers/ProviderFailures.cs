using System.Globalization;
using MoaGateway.Moa;

namespace MoaGateway.Providers;

/// <summary>The failures an agent call and a pass-through forward share: how a broken connection, a status and a Retry-After read.</summary>
internal static class ProviderFailures
{
    /// <summary>Rate limited, timed out at the provider, or a server error other than "not implemented": worth another try.</summary>
    public static bool IsTransientStatus(int status) => status is 408 or 429 or (>= 500 and not 501);

    /// <param name="target">What was called, as clients see it: <c>provider/model</c>.</param>
    /// <param name="provider">Its provider, whose key is redacted from the message.</param>
    /// <param name="exception">The transport's failure.</param>
    public static ProviderException ConnectionFailed(string target, Provider provider, Exception exception) =>
        new($"{target} failed: connection failed: {provider.Redact(exception.Message)}", ProviderFailure.Error, exception)
        {
            IsTransient = true,
            IsConnectFailure = exception is HttpRequestException
            {
                HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or
                HttpRequestError.SecureConnectionError or HttpRequestError.ProxyTunnelError,
            },
            ErrorType = "connection",
        };

    /// <summary>The call was cancelled while its own deadline had not passed: the handler's connect timeout did it.</summary>
    public static ProviderException ConnectTimedOut(string target, Exception exception) =>
        new($"{target} failed: the connection timed out.", ProviderFailure.Timeout, exception)
        {
            IsTransient = true,
            IsConnectFailure = true,
            ErrorType = "connect_timeout",
        };

    /// <summary><c>retry-after-ms</c> (OpenAI's precise form) or <c>Retry-After</c> in seconds or as an HTTP date.</summary>
    public static TimeSpan? RetryAfter(string? retryAfterMs, string? retryAfter)
    {
        if (double.TryParse(retryAfterMs, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms >= 0)
        {
            return TimeSpan.FromMilliseconds(ms);
        }

        if (retryAfter is null)
        {
            return null;
        }

        if (double.TryParse(retryAfter, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return DateTimeOffset.TryParse(retryAfter, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? TimeSpan.FromTicks(Math.Max(0, (at - DateTimeOffset.UtcNow).Ticks))
            : null;
    }
}
