using System.Text.Json;

namespace MoaGateway.Forwarding;

/// <summary>Rewrites the top-level <c>model</c> of a JSON request while leaving every other byte as the client sent it.</summary>
public static class ModelField
{
    public static byte[] Replace(ReadOnlySpan<byte> json, string model)
    {
        var reader = new Utf8JsonReader(json);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isModel = reader.CurrentDepth == 1 && reader.ValueTextEquals("model"u8);
            reader.Read();
            if (isModel && reader.TokenType == JsonTokenType.String)
            {
                var start = (int)reader.TokenStartIndex;
                var end = (int)reader.BytesConsumed;
                var replacement = JsonEncodedText.Encode(model).EncodedUtf8Bytes;
                var result = new byte[start + replacement.Length + 2 + (json.Length - end)];
                json[..start].CopyTo(result);
                result[start] = (byte)'"';
                replacement.CopyTo(result.AsSpan(start + 1));
                result[start + 1 + replacement.Length] = (byte)'"';
                json[end..].CopyTo(result.AsSpan(start + replacement.Length + 2));
                return result;
            }

            reader.Skip();
        }

        throw new ArgumentException("The JSON has no top-level string property 'model'.", nameof(json));
    }
}
