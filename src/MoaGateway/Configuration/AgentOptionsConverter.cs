using System.ComponentModel;
using System.Globalization;

namespace MoaGateway.Configuration;

/// <summary>Lets the configuration binder read an agent written as a string, <c>"together/Qwen/Qwen2.5-72B-Instruct-Turbo"</c>.</summary>
internal sealed class AgentOptionsConverter : TypeConverter
{
    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType) => sourceType == typeof(string);

    public override object ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        AgentOptions.Parse(value as string) ?? throw new FormatException($"'{value}' is not '<provider>/<model>'.");
}
