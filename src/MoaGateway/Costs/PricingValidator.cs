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
            if (!ProviderModel.TryParse(price.Model, out var model))
            {
                errors.Add($"{key}:Model {(price.Model is null ? "is missing" : $"'{price.Model}' is not a model")}: write '<provider>/<model>' or '<provider>/*'.");
            }
            else if (!options.Providers.ContainsKey(model.Provider))
            {
                errors.Add($"{key}:Model '{price.Model}' names provider '{model.Provider}', which is not configured " +
                           $"(known: {string.Join(", ", options.Providers.Keys.Order(StringComparer.Ordinal))}).");
            }
            else if (priced.TryGetValue(Normalized(model), out var first))
            {
                errors.Add($"{key}:Model '{price.Model}' has a price already, in {Root}:Pricing:{first}.");
            }
            else
            {
                priced.Add(Normalized(model), i);
            }

            Amount($"{key}:InputPerMillion", price.InputPerMillion, required: true, errors);
            Amount($"{key}:OutputPerMillion", price.OutputPerMillion, required: true, errors);
            Amount($"{key}:CachedInputPerMillion", price.CachedInputPerMillion, required: false, errors);
        }

        return errors.Result;
    }

    private static string Normalized(ProviderModel model) => (model with { Provider = model.Provider.ToUpperInvariant() }).ToString();

    private static void Amount(string key, decimal? amount, bool required, GatewayOptionsValidator.Errors errors)
    {
        errors.If(required && amount is null, $"{key} is required: US dollars per million tokens.");
        errors.If(amount is < 0, $"{key} must not be negative.");
    }
}
