using System.Security.Cryptography;
using System.Text;
using MoaGateway.Configuration;

namespace MoaGateway.Security;

/// <summary>The client keys of one configuration, resolved into SHA-256 hashes; keys given through the environment are hashed and not kept.</summary>
public sealed class ClientKeys
{
    private readonly ClientKey[] _keys;

    public ClientKeys(AuthOptions options) =>
        _keys = [.. options.Keys.Select(pair => new ClientKey(pair.Key, Hash(pair.Value), pair.Value))];

    /// <summary>The ids of the configured keys, safe to log.</summary>
    public IEnumerable<string> Ids => _keys.Select(key => key.Id);

    public IReadOnlyList<ClientKey> All => _keys;

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
}
