namespace MoaGateway.Security;

/// <summary>
/// Endpoint metadata: the <c>Content-Security-Policy</c> of an endpoint that serves a page, in place of
/// <see cref="Default"/>, which lets a response load and run nothing.
/// </summary>
public sealed record ContentSecurityPolicy(string Value)
{
    public const string Default = "default-src 'none'; frame-ancestors 'none'";
}
