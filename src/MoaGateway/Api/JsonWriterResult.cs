using System.Text.Encodings.Web;
using System.Text.Json;

namespace MoaGateway.Api;

/// <summary>A JSON response written straight to the response pipe, for shapes the OpenAI SDK's types cannot serialise as the wire expects.</summary>
public sealed class JsonWriterResult(Action<Utf8JsonWriter> write) : IResult
{
    /// <summary>
    /// Quotes and non-ASCII text as they are, not as <c>\u0027</c>: CLIs such as Codex print error bodies raw. Safe, as
    /// the body is only ever <c>application/json</c> under <c>nosniff</c>, never HTML.
    /// </summary>
    private static readonly JsonWriterOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(response.BodyWriter, Readable))
        {
            write(json);
        }

        await response.BodyWriter.FlushAsync(httpContext.RequestAborted);
    }
}
