using Microsoft.Extensions.Options;
using MoaGateway;

try
{
    await GatewayApp.Create(args).RunAsync();
    return 0;
}
catch (OptionsValidationException exception)
{
    await Console.Error.WriteLineAsync("MoaGateway cannot start: the configuration is invalid.");
    foreach (var failure in exception.Failures)
    {
        await Console.Error.WriteLineAsync($"  - {failure}");
    }

    return 1;
}
