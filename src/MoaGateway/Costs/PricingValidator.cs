using Microsoft.Extensions.Options;
using MoaGateway.Configuration;

namespace MoaGateway.Costs;

/// <summary>Refuses prices that cannot be applied, naming the entry as <see cref="GatewayOptionsValidator"/> does.</summary>
internal sealed class PricingValidator : IValidateOptions<GatewayOptions>
{
    private const string Root = GatewayOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = new GatewayOptionsValidator.Errors();
        // Provider names match in any case, so "Groq/x" and "groq/x" are one model.
        var priced = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < options.Pricing.Count; i++)
        {
            var key = $"{Root}:Pricing:{i}";
            var price = options.Pricing[i];
            if (price.Model is null || !(price.Model.Contains('/', StringComparison.Ordinal) || price.Model == ModelPatterns.AnyModel))
            {
                errors.Add($"{key}:Model {(price.Model is null ? "is missing" : $"'{price.Model}' is no upstream model")}: write '<provider>/<model>', '<provider>/*' or '*'.");
            }
            else if (ModelPatterns.EntryError(price.Model, options, virtualModels: false) is { } error)
            {
                errors.Add($"{key}:Model {error}");
            }
            else if (priced.TryGetValue(Normalized(price.Model), out var first))
            {
                errors.Add($"{key}:Model '{price.Model}' has a price already, in {Root}:Pricing:{first}.");
            }
            else
            {
                priced.Add(Normalized(price.Model), i);
            }

            Amount($"{key}:InputPerMillion", price.InputPerMillion, required: true, errors);
            Amount($"{key}:OutputPerMillion", price.OutputPerMillion, required: true, errors);
            Amount($"{key}:CachedInputPerMillion", price.CachedInputPerMillion, required: false, errors);
        }

        return errors.Result;
    }

    private static string Normalized(string model) =>
        ProviderModel.TryParse(model, out var name) ? (name with { Provider = name.Provider.ToUpperInvariant() }).ToString() : model;

    private static void Amount(string key, decimal? amount, bool required, GatewayOptionsValidator.Errors errors)
    {
        errors.If(required && amount is null, $"{key} is required: US dollars per million tokens.");
        errors.If(amount is < 0, $"{key} must not be negative.");
    }
}
