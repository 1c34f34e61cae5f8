namespace MoaGateway.Api;

public static class OpenAiApi
{
    /// <summary>The OpenAI-compatible surface under <c>/v1</c>, every error in OpenAI's envelope.</summary>
    public static WebApplication MapOpenAiApi(this WebApplication app)
    {
        app.UseWhen(
            context => context.Request.Path.StartsWithSegments("/v1"),
            v1 => v1.UseMiddleware<OpenAiErrorMiddleware>());
        app.UseRateLimiter();

        app.MapGroup("/v1")
            .MapModels()
            .MapChatCompletions();
        return app;
    }
}
