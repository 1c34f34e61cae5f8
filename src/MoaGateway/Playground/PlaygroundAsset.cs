using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace MoaGateway.Playground;

/// <summary>
/// One file of the playground, read once from the gateway's assembly and served from memory. Its URL carries no
/// version, so browsers keep it only with its ETag and ask again each time, getting a 304 while it is unchanged.
/// </summary>
internal sealed class PlaygroundAsset
{
    private readonly byte[] _content;
    private readonly string _contentType;
    private readonly EntityTagHeaderValue _entityTag;

    private PlaygroundAsset(byte[] content, string contentType)
    {
        _content = content;
        _contentType = contentType;
        _entityTag = new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..32]}\"");
    }

    /// <param name="name">The file's name in Playground/, its logical name in the assembly.</param>
    /// <param name="contentType">The media type it is served with.</param>
    public static PlaygroundAsset Load(string name, string contentType)
    {
        var resource = $"Playground/{name}";
        using var stream = typeof(PlaygroundAsset).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The assembly has no embedded resource {resource}.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return new PlaygroundAsset(copy.ToArray(), contentType);
    }

    /// <summary>The file, or a 304 when the request's <c>If-None-Match</c> names its ETag.</summary>
    public FileContentHttpResult Serve(HttpContext context)
    {
        context.Response.Headers.CacheControl = "no-cache";
        return TypedResults.Bytes(_content, _contentType, entityTag: _entityTag);
    }
}
