using Microsoft.Extensions.Options;
using MoaGateway.Configuration;
using StackExchange.Redis;

namespace MoaGateway.SharedState;

/// <summary>Refuses a shared state that cannot work, naming the key; a Redis setting is parsed here, never repeated (it may hold a password).</summary>
internal sealed class SharedStateValidator : IValidateOptions<GatewayOptions>
{
    private const string Key = $"{GatewayOptions.SectionName}:SharedState";

    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = new GatewayOptionsValidator.Errors();
        var shared = options.SharedState;
        if (shared.Redis is { Length: > 0 } redis)
        {
            try
            {
                errors.If(ConfigurationOptions.Parse(redis).EndPoints.Count == 0, $"{Key}:Redis names no server: give host:port, such as redis:6379.");
            }
            catch (ArgumentException exception)
            {
                errors.Add($"{Key}:Redis is not a StackExchange.Redis configuration string: {FirstSentence(exception.Message)}");
            }
        }

        errors.Positive($"{Key}:TimeoutMs", shared.TimeoutMs);
        errors.If(shared.LeaseSeconds < 1, $"{Key}:LeaseSeconds must be at least 1.");
        return errors.Result;
    }

    /// <summary>The parser's message names the bad option, and nothing of the string beyond it.</summary>
    private static string FirstSentence(string message) => message.Split(Environment.NewLine)[0];
}
