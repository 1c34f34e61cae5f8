using Microsoft.Extensions.Options;
using MoaGateway.Configuration;
using MoaGateway.Costs;
using MoaGateway.Moa;
using MoaGateway.Providers;
using MoaGateway.Security;
using MoaGateway.SharedState;

namespace MoaGateway.Serving;

/// <summary>
/// Reads the configuration into a <see cref="ConfigurationSnapshot"/> the same way at start-up, for <c>check</c> and on
/// every reload: settings files readable, every key a setting, every value convertible, every validator satisfied,
/// every provider a model needs usable. Any problem refuses the whole configuration, each problem naming its key.
/// </summary>
public sealed class ConfigurationLoader(
    IConfiguration configuration,
    IEnumerable<IValidateOptions<GatewayOptions>> validators,
    IHostEnvironment environment,
    TimeProvider time,
    Func<ProviderRegistry, IAgentInvoker> invokerFor,
    ILogger<MoaEngine> engineLogger,
    SharedStore sharedStore)
{
    /// <exception cref="OptionsValidationException">The configuration is invalid; its failures name each problem.</exception>
    public ConfigurationSnapshot Load(int generation, ConfigurationSnapshot? previous)
    {
        var root = (IConfigurationRoot)configuration;
        // A file that could not be read says nothing about its settings: checking them would only add noise.
        ThrowIfAny([.. root.Providers.OfType<SettingsFileProvider>().Select(file => file.Problem).OfType<string>()]);

        var problems = ConfigurationShape.Check(root).ToList();
        var options = new GatewayOptions();
        try
        {
            configuration.GetSection(GatewayOptions.SectionName).Bind(options);
            // Unknown keys do not stop binding, so what was bound is validated too and every problem is named at once.
            problems.AddRange(validators.SelectMany(validator => validator.Validate(null, options).Failures ?? []));
        }
        catch (InvalidOperationException exception)
        {
            // A value that does not convert, which the shape check names in its own words; the binder's name the key too.
            if (problems.Count == 0)
            {
                problems.Add(exception.Message);
            }
        }

        ThrowIfAny(problems);

        var providers = ProviderRegistry.Create(options, options.SimulateProvidersWithoutKeys ?? environment.IsDevelopment(), time, previous?.Providers);
        if (providers.MissingKeys(options) is { Count: > 0 } missingKeys)
        {
            providers.DisposeExcept(previous?.Providers);
            ThrowIfAny(missingKeys);
        }

        return new ConfigurationSnapshot(
            generation,
            time.GetUtcNow(),
            options,
            new VirtualModelCatalog(options.Models.Select(pair => VirtualModelResolver.Resolve(pair.Key, pair.Value))),
            providers,
            new ClientKeys(options.Auth),
            GatewaySecurity.CorsPolicy(options.Cors),
            new MoaEngine(invokerFor(providers), engineLogger),
            new Prices(options.Pricing, providers.All.Where(provider => provider.IsSimulated).Select(provider => provider.Name)),
            sharedStore.For(options.SharedState));
    }

    private static void ThrowIfAny(IReadOnlyList<string> problems)
    {
        if (problems.Count > 0)
        {
            throw GatewayConfiguration.Invalid(problems);
        }
    }
}
