using Microsoft.Extensions.Options;
using MoaGateway.Configuration;
using MoaGateway.Costs;

namespace MoaGateway.Security;

/// <summary>Refuses client keys and CORS origins that cannot work, naming the offending key as <see cref="GatewayOptionsValidator"/> does.</summary>
internal sealed class AccessControlValidator : IValidateOptions<GatewayOptions>
{
    private const string Root = GatewayOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = new GatewayOptionsValidator.Errors();
        foreach (var (id, key) in options.Auth.Keys)
        {
            ValidateKey($"{Root}:Auth:Keys:{id}", key, options, errors);
        }

        var origins = options.Cors.AllowedOrigins;
        for (var i = 0; i < origins.Count; i++)
        {
            errors.If(!IsOrigin(origins[i]),
                $"{Root}:Cors:AllowedOrigins:{i} '{origins[i]}' is not an origin: use scheme://host[:port], such as https://app.example.com, or * for any.");
        }

        return errors.Result;
    }

    private static void ValidateKey(string key, ClientKeyOptions clientKey, GatewayOptions options, GatewayOptionsValidator.Errors errors)
    {
        // The configured values are not repeated: a mistyped key variable or hash is still close to a secret.
        switch (clientKey)
        {
            case { Sha256: not null, KeyEnv: not null }:
                errors.Add($"{key} sets both Sha256 and KeyEnv: set exactly one.");
                break;
            case { Sha256: null, KeyEnv: null }:
                errors.Add($"{key} needs Sha256 (the hex SHA-256 of the key) or KeyEnv (the environment variable that holds the key).");
                break;
            case { Sha256: { } hash }:
                errors.If(hash.Length != 64 || !hash.All(char.IsAsciiHexDigit),
                    $"{key}:Sha256 must be 64 hexadecimal characters, as printed by: printf %s \"$KEY\" | sha256sum");
                break;
            case { KeyEnv: { } variable }:
                errors.If(string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)),
                    $"{key}:KeyEnv names environment variable {variable}, which is not set.");
                break;
        }

        if (clientKey.RequestsPerMinute is { } perMinute)
        {
            errors.Positive($"{key}:RequestsPerMinute", perMinute);
        }

        if (clientKey.MaxConcurrentRequests is { } concurrent)
        {
            errors.Positive($"{key}:MaxConcurrentRequests", concurrent);
        }

        errors.If(clientKey.Budget.UsdPerDay is <= 0 or > Budget.MaxUsd, $"{key}:Budget:UsdPerDay must be greater than 0 and at most {Budget.MaxUsd}.");
        errors.If(clientKey.Budget.UsdPerMonth is <= 0 or > Budget.MaxUsd, $"{key}:Budget:UsdPerMonth must be greater than 0 and at most {Budget.MaxUsd}.");

        for (var i = 0; i < clientKey.AllowedModels.Count; i++)
        {
            if (ModelPatterns.EntryError(clientKey.AllowedModels[i], options, virtualModels: true) is { } error)
            {
                errors.Add($"{key}:AllowedModels:{i} {error}");
            }
        }
    }

    /// <summary>Browsers send an origin without path or trailing slash, and CORS compares it whole, so anything more never matches.</summary>
    private static bool IsOrigin(string origin) =>
        origin == "*" ||
        (Uri.TryCreate(origin, UriKind.Absolute, out var uri) &&
         (uri.Scheme is "http" or "https") &&
         string.Equals(uri.GetLeftPart(UriPartial.Authority), origin, StringComparison.OrdinalIgnoreCase));
}
