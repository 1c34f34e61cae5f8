using Microsoft.Extensions.Options;
using MoaGateway.Serving;
using MoaGateway;

try
{
    if (args is [ConfigurationCheck.Command, .. var rest])
    {
        return await ConfigurationCheck.RunAsync(rest);
    }

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
