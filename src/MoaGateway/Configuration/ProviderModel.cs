namespace MoaGateway.Configuration;

/// <summary>
/// A <c>provider/model</c> name, split at its first slash so that model ids with slashes of their own keep them
/// (<c>together/meta-llama/Llama-3.3-70B-Instruct-Turbo</c>). The one rule for pass-through model names, agents
/// written as strings and client keys' <c>AllowedModels</c>.
/// </summary>
public readonly record struct ProviderModel(string Provider, string Model)
{
    /// <summary>True when <paramref name="name"/> has a provider before its first slash and a model after it.</summary>
    public static bool TryParse(string? name, out ProviderModel result)
    {
        var slash = name?.IndexOf('/', StringComparison.Ordinal) ?? -1;
        if (slash <= 0 || slash == name!.Length - 1)
        {
            result = default;
            return false;
        }

        result = new ProviderModel(name[..slash], name[(slash + 1)..]);
        return true;
    }

    public override string ToString() => $"{Provider}/{Model}";
}
