using MoaGateway.Api.Responses;

namespace MoaGateway.Api;

public static class OpenAiApi
{
    /// <summary>Under <c>/v1</c>, every error leaves in OpenAI's envelope, those of the middleware after this one included.</summary>
    public static WebApplication UseOpenAiErrors(this WebApplication app)
    {
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/v1"), v1 => v1.UseMiddleware<OpenAiErrorMiddleware>());
        return app;
    }

    /// <summary>The OpenAI-compatible surface under <c>/v1</c>.</summary>
    public static WebApplication MapOpenAiApi(this WebApplication app)
    {
        app.MapGroup("/v1")
            .MapModels()
            .MapChatCompletions()
            .MapResponses()
            .MapPassthrough()
            .MapMe();
        return app;
    }
}
