using System.Buffers;
using System.Text;
using MoaGateway.Forwarding;

namespace MoaGateway.Tests.Unit;

public sealed class SecretRedactorTests
{
    private const string Key = "sk-live-0123456789";

    public static TheoryData<string> Bodies => new()
    {
        $"data: {{\"error\":{{\"message\":\"key {Key} revoked\"}}}}\n\n",
        $"{Key} at the start",
        $"at the end {Key}",
        $"{Key}{Key} twice in a row, and once more: {Key}.",
        $"near misses sk-live-01234 and sk-sk-live-0123456789 and s{Key}",
        "no key at all, but its start: sk-live-",
        "sk-live-012345678",
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public void A_body_in_one_piece_has_every_key_redacted(string body) =>
        Assert.Equal(Expected(body), Relay(Key, body));

    [Theory]
    [MemberData(nameof(Bodies))]
    public void A_body_in_two_pieces_has_every_key_redacted_at_every_split_point(string body)
    {
        for (var split = 0; split <= body.Length; split++)
        {
            Assert.True(Expected(body) == Relay(Key, body[..split], body[split..]), $"split at {split}");
        }
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public void A_body_in_pieces_of_one_byte_has_every_key_redacted(string body) =>
        Assert.Equal(Expected(body), Relay(Key, [.. body.Select(character => character.ToString())]));

    [Fact]
    public void Nothing_is_held_back_that_cannot_begin_the_key()
    {
        var redactor = new SecretRedactor(Key);
        var output = new ArrayBufferWriter<byte>();

        redactor.Write("data: {\"content\":\"hi\"}\n\n"u8, output);

        Assert.Equal("data: {\"content\":\"hi\"}\n\n", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void A_possible_start_of_the_key_waits_for_the_next_piece_and_leaves_at_the_end()
    {
        var redactor = new SecretRedactor(Key);
        var output = new ArrayBufferWriter<byte>();

        redactor.Write("token sk-li"u8, output);
        Assert.Equal("token ", Encoding.UTF8.GetString(output.WrittenSpan));

        redactor.Complete(output);
        Assert.Equal("token sk-li", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Without_a_key_every_byte_passes_as_it_is(string? key) =>
        Assert.Equal("sk-live-0123456789 [redacted]", Relay(key, "sk-live-", "0123456789 [redacted]"));

    private static string Expected(string body) => body.Replace(Key, "[redacted]", StringComparison.Ordinal);

    private static string Relay(string? key, params string[] pieces)
    {
        var redactor = new SecretRedactor(key);
        var output = new ArrayBufferWriter<byte>();
        foreach (var piece in pieces)
        {
            redactor.Write(Encoding.UTF8.GetBytes(piece), output);
        }

        redactor.Complete(output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }
}
