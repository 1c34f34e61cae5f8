using MoaGateway.Configuration;
using MoaGateway.Security;

namespace MoaGateway.Tests.Unit;

public sealed class AccessControlValidatorTests
{
    private const string Hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    /// <summary>A valid gateway with a client key and CORS origins that use every form there is.</summary>
    private static GatewayOptions Valid()
    {
        var options = GatewayOptionsValidatorTests.Valid();
        options.Auth.Keys["ci"] = new ClientKeyOptions { Sha256 = Hash, AllowedModels = { "m", "p/x", "p/*", "*" } };
        options.Cors.AllowedOrigins.AddRange(["https://app.example.com", "http://localhost:5173", "*"]);
        return options;
    }

    private static List<string> Failures(GatewayOptions options) =>
        new AccessControlValidator().Validate(null, options).Failures?.ToList() ?? [];

    [Fact]
    public void A_complete_configuration_is_valid() => Assert.Empty(Failures(Valid()));

    [Fact]
    public void A_key_needs_exactly_one_of_sha256_and_key_env()
    {
        var options = Valid();
        options.Auth.Keys["ci"].KeyEnv = "CI_KEY";
        options.Auth.Keys["none"] = new ClientKeyOptions();

        Assert.Equal(
        [
            "MoaGateway:Auth:Keys:ci sets both Sha256 and KeyEnv: set exactly one.",
            "MoaGateway:Auth:Keys:none needs Sha256 (the hex SHA-256 of the key) or KeyEnv (the environment variable that holds the key).",
        ], Failures(options));
    }

    [Theory]
    [InlineData("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0")]
    [InlineData("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  -")]
    [InlineData("zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    public void A_sha256_that_is_not_64_hex_digits_is_named_without_repeating_it(string hash)
    {
        var options = Valid();
        options.Auth.Keys["ci"].Sha256 = hash;

        var failure = Assert.Single(Failures(options));
        Assert.StartsWith("MoaGateway:Auth:Keys:ci:Sha256 must be 64 hexadecimal characters", failure, StringComparison.Ordinal);
        Assert.DoesNotContain(hash, failure, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_variable_that_is_not_set_is_named()
    {
        var options = Valid();
        options.Auth.Keys["ci"] = new ClientKeyOptions { KeyEnv = "MOA_TEST_UNSET_CLIENT_KEY" };

        Assert.Equal(["MoaGateway:Auth:Keys:ci:KeyEnv names environment variable MOA_TEST_UNSET_CLIENT_KEY, which is not set."], Failures(options));
    }

    [Fact]
    public void Non_positive_limits_are_named()
    {
        var options = Valid();
        options.Auth.Keys["ci"].RequestsPerMinute = 0;
        options.Auth.Keys["ci"].MaxConcurrentRequests = -1;

        Assert.Equal(
        [
            "MoaGateway:Auth:Keys:ci:RequestsPerMinute must be greater than 0.",
            "MoaGateway:Auth:Keys:ci:MaxConcurrentRequests must be greater than 0.",
        ], Failures(options));
    }

    [Fact]
    public void Allowed_models_that_name_nothing_served_are_named()
    {
        var options = Valid();
        options.Auth.Keys["ci"].AllowedModels.AddRange(["mm", "q/x", "p/", " "]);

        Assert.Equal(
        [
            "MoaGateway:Auth:Keys:ci:AllowedModels:4 'mm' is not a virtual model (known: m); pass-through models are '<provider>/<model>' or '<provider>/*'.",
            "MoaGateway:Auth:Keys:ci:AllowedModels:5 'q/x' names provider 'q', which is not configured (known: p).",
            "MoaGateway:Auth:Keys:ci:AllowedModels:6 'p/' is not '<provider>/<model>' or '<provider>/*'.",
            "MoaGateway:Auth:Keys:ci:AllowedModels:7 is blank.",
        ], Failures(options));
    }

    [Theory]
    [InlineData("https://app.example.com/")]
    [InlineData("https://app.example.com/path")]
    [InlineData("app.example.com")]
    [InlineData("ftp://app.example.com")]
    public void An_origin_with_more_or_less_than_scheme_host_and_port_is_named(string origin)
    {
        var options = Valid();
        options.Cors.AllowedOrigins.Add(origin);

        Assert.Equal(
            [$"MoaGateway:Cors:AllowedOrigins:3 '{origin}' is not an origin: use scheme://host[:port], such as https://app.example.com, or * for any."],
            Failures(options));
    }
}
