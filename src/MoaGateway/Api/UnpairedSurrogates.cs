using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace MoaGateway.Api;

/// <summary>
/// Finds a JSON string (a value or a property name) holding an unpaired UTF-16 surrogate escape such as <c>\ud800</c>.
/// JSON's grammar allows it, but no Unicode string holds it, and every reader of the document (the gateway's checks,
/// the SDK's model readers) would throw on it. Raw UTF-8 cannot encode a surrogate at all (the body's UTF-8 is checked
/// first), so only <c>\u</c> escapes need looking at.
/// </summary>
internal static class UnpairedSurrogates
{
    /// <summary>The path of the first string with an unpaired surrogate (<c>messages[0].content</c>; "" for the root), or null when there is none.</summary>
    public static string? Find(JsonElement root, ReadOnlySpan<byte> body) => MayHoldOne(body) ? Find(root) : null;

    /// <summary>A quick look at the raw body: without an escape that could be a surrogate (<c>\uD800</c> to <c>\uDFFF</c>), no walk is needed.</summary>
    private static bool MayHoldOne(ReadOnlySpan<byte> body)
    {
        var rest = body;
        for (int at; (at = rest.IndexOf(@"\u"u8)) >= 0; rest = rest[(at + 2)..])
        {
            if (at + 3 < rest.Length && rest[at + 2] is (byte)'d' or (byte)'D' && "89abcdefABCDEF"u8.Contains(rest[at + 3]))
            {
                return true;
            }
        }

        return false;
    }

    private static string? Find(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return HasUnpaired(JsonMarshal.GetRawUtf8Value(element)) ? string.Empty : null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (Find(item) is { } inItem)
                    {
                        return $"[{index}]{inItem}";
                    }

                    index++;
                }

                return null;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    var name = JsonMarshal.GetRawUtf8PropertyName(property);
                    if (HasUnpaired(name))
                    {
                        // The name cannot be decoded; its escaped form, as sent, is what the client can find.
                        return $".{System.Text.Encoding.UTF8.GetString(name)}";
                    }

                    if (Find(property.Value) is { } inValue)
                    {
                        return $".{property.Name}{inValue}";
                    }
                }

                return null;
            default:
                return null;
        }
    }

    /// <summary>Whether the escaped text of one JSON string holds a high surrogate not directly followed by a low one, or a low one alone.</summary>
    private static bool HasUnpaired(ReadOnlySpan<byte> escaped)
    {
        // Where the low half of the last high surrogate must begin; -1 when none is awaited.
        var lowExpectedAt = -1;
        for (var at = escaped.IndexOf((byte)'\\'); at >= 0; at = NextEscape(escaped, at))
        {
            if (lowExpectedAt >= 0 && (at != lowExpectedAt || escaped[at + 1] != (byte)'u'))
            {
                return true;
            }

            if (escaped[at + 1] != (byte)'u')
            {
                at += 2;
                continue;
            }

            // The document parsed, so every \u escape has its four hex digits.
            var unit = int.Parse(escaped.Slice(at + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            var isLow = unit is >= 0xDC00 and <= 0xDFFF;
            if (isLow != lowExpectedAt >= 0)
            {
                return true;
            }

            lowExpectedAt = unit is >= 0xD800 and <= 0xDBFF ? at + 6 : -1;
            at += 6;
        }

        return lowExpectedAt >= 0;
    }

    private static int NextEscape(ReadOnlySpan<byte> escaped, int from)
    {
        var next = escaped[from..].IndexOf((byte)'\\');
        return next < 0 ? -1 : from + next;
    }
}
