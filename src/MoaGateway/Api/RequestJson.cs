using System.Text.Json;
using System.Text.Unicode;

namespace MoaGateway.Api;

/// <summary>The strict reading every JSON request body gets, whichever endpoint it is for.</summary>
internal static class RequestJson
{
    private static readonly JsonDocumentOptions StrictJson = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    /// <summary>
    /// The body as a JSON document, or null and the 400 that says why it is not one. Unpaired surrogates are refused
    /// before anything else, so that every string read afterwards, here or by the SDK, can be decoded.
    /// </summary>
    public static JsonDocument? Parse(ReadOnlyMemory<byte> body, out OpenAiError? error)
    {
        // The JSON reader checks UTF-8 only when a string is read; checking first keeps a bad byte from surfacing later as a crash.
        if (!Utf8.IsValid(body.Span))
        {
            error = OpenAiError.InvalidRequest("The request body is not valid UTF-8.", code: "invalid_json");
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, StrictJson);
        }
        catch (JsonException exception)
        {
            error = OpenAiError.InvalidRequest($"The request body is not valid JSON: {exception.Message}", code: "invalid_json");
            return null;
        }
        catch (InvalidOperationException)
        {
            // The check for duplicate names decodes every property name, and one with an unpaired surrogate cannot be
            // decoded. Parsed without that check, the document shows where it is.
            using var withDuplicates = JsonDocument.Parse(body, StrictJson with { AllowDuplicateProperties = true });
            error = UnpairedSurrogateError(withDuplicates.RootElement, body.Span) ??
                    OpenAiError.InvalidRequest("The request body holds a property name that cannot be decoded.", code: "invalid_json");
            return null;
        }

        error = UnpairedSurrogateError(document.RootElement, body.Span);
        if (error is not null)
        {
            document.Dispose();
            return null;
        }

        return document;
    }

    /// <summary>The 400 for a body that is not an object with a non-empty string <c>model</c>; null when it is one.</summary>
    public static OpenAiError? ModelError(JsonElement root) =>
        root.ValueKind != JsonValueKind.Object
            ? OpenAiError.InvalidRequest("The request body must be a JSON object.")
            : root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String && model.GetString()!.Length > 0
                ? null
                : OpenAiError.InvalidRequest("'model' is required and must be a non-empty string.", "model");

    private static OpenAiError? UnpairedSurrogateError(JsonElement root, ReadOnlySpan<byte> body)
    {
        if (UnpairedSurrogates.Find(root, body) is not { } path)
        {
            return null;
        }

        var param = path.TrimStart('.');
        return OpenAiError.InvalidRequest(
            $"{(param.Length == 0 ? "The request body" : $"'{param}'")} holds an unpaired UTF-16 surrogate escape (such as \\ud800 without its low half); JSON strings must be valid Unicode.",
            param.Length == 0 ? null : param,
            "invalid_unicode");
    }
}
