using System.Text;
using MoaGateway.Forwarding;

namespace MoaGateway.Tests.Unit;

public sealed class ModelFieldTests
{
    private static string Replace(string json, string model) => Encoding.UTF8.GetString(ModelField.Replace(Encoding.UTF8.GetBytes(json), model));

    [Fact]
    public void Only_the_top_level_model_changes_and_every_other_byte_stays()
    {
        const string json = """{ "meta": {"model": "inner"},  "model" : "groq/llama", "messages":[{"role":"user","content":"model"}] }""";

        Assert.Equal("""{ "meta": {"model": "inner"},  "model" : "llama", "messages":[{"role":"user","content":"model"}] }""", Replace(json, "llama"));
    }

    [Fact]
    public void The_new_name_is_json_escaped()
    {
        var rewritten = System.Text.Json.Nodes.JsonNode.Parse(Replace("""{"model":"x"}""", "a\"b"))!;

        Assert.Equal("a\"b", rewritten["model"]!.GetValue<string>());
    }

    [Fact]
    public void An_escaped_original_name_is_replaced_whole()
    {
        Assert.Equal("""{"model":"m","n":1}""", Replace("""{"model":"p\/m\u0031","n":1}""", "m"));
    }
}
