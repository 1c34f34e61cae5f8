using System.Text.Json;

namespace MoaGateway.Api;

/// <summary>A JSON response written straight to the response pipe, for shapes the OpenAI SDK's types cannot serialise as the wire expects.</summary>
public sealed class JsonWriterResult(Action<Utf8JsonWriter> write) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(response.BodyWriter))
        {
            write(json);
        }

        await response.BodyWriter.FlushAsync(httpContext.RequestAborted);
    }
}
