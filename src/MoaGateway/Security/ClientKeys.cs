using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using MoaGateway.Configuration;

namespace MoaGateway.Security;

/// <summary>The configured client keys, resolved at start-up into SHA-256 hashes; keys given through the environment are hashed and not kept.</summary>
public sealed partial class ClientKeys
{
    private readonly ClientKey[] _keys;

    public ClientKeys(IOptions<GatewayOptions> options, ILogger<ClientKeys> logger)
    {
        _keys = [.. options.Value.Auth.Keys.Select(pair => new ClientKey(pair.Key, Hash(pair.Value), pair.Value))];
        if (_keys.Length == 0)
        {
            LogOpen(logger, GatewayOptions.SectionName);
        }
        else
        {
            var ids = string.Join(", ", _keys.Select(key => key.Id));
            LogRequired(logger, _keys.Length, ids);
        }
    }

    /// <summary>Whether <c>/v1</c> needs a key at all.</summary>
    public bool Required => _keys.Length > 0;

    /// <summary>The key <paramref name="presented"/> is, or null. Hashes are compared in constant time, and all of them, so timing tells nothing.</summary>
    public ClientKey? Find(string presented)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), hash);
        ClientKey? found = null;
        foreach (var key in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, key.Sha256))
            {
                found ??= key;
            }
        }

        return found;
    }

    /// <summary>The validator has made sure that exactly one source is set and usable.</summary>
    private static byte[] Hash(ClientKeyOptions key) => key.Sha256 is { } hex
        ? Convert.FromHexString(hex)
        : SHA256.HashData(Encoding.UTF8.GetBytes(Environment.GetEnvironmentVariable(key.KeyEnv!)!));

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "No client API keys are configured ({Section}:Auth:Keys): /v1 is open to anyone who can reach the gateway.")]
    private static partial void LogOpen(ILogger logger, string section);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client API keys required on /v1: {Count} configured ({Ids})")]
    private static partial void LogRequired(ILogger logger, int count, string ids);
}
