using System.Globalization;
using System.Text.Json;
using MoaGateway.Configuration;
using MoaGateway.Costs;
using MoaGateway.Moa;
using MoaGateway.OpenAiWire;

namespace MoaGateway.Api;

/// <summary>An error in OpenAI's envelope, the only error shape the official SDKs can read.</summary>
public sealed record OpenAiError(int StatusCode, string Message, string Type, string? Param = null, string? Code = null) : IResult
{
    /// <summary>Sent as <c>x-should-retry</c>, which the official Python and Node SDKs obey over their own retry rules; unset, they follow those.</summary>
    public bool? ShouldRetry { get; init; }

    public static OpenAiError InvalidRequest(string message, string? param = null, string? code = null) =>
        new(StatusCodes.Status400BadRequest, message, "invalid_request_error", param, code);

    public static OpenAiError ModelNotFound(string model) => new(
        StatusCodes.Status404NotFound,
        $"The model '{model}' does not exist. Use a virtual model from GET /v1/models, or '<provider>/<model>' for a configured provider.",
        "invalid_request_error",
        "model",
        "model_not_found");

    /// <summary>A model of a configured provider that its <c>Models</c> does not list: unknown to <c>GET /v1/models</c>, though pass-through forwards it.</summary>
    public static OpenAiError ProviderModelNotListed(string model, string provider) => new(
        StatusCodes.Status404NotFound,
        $"The model '{model}' is not among the models provider '{provider}' lists ({GatewayOptions.SectionName}:Providers:{provider}:Models). " +
        "A request naming it is passed through to the provider all the same.",
        "invalid_request_error",
        "model",
        "model_not_found");

    public static OpenAiError BodyTooLarge(long limit) => new(
        StatusCodes.Status413PayloadTooLarge,
        $"The request body exceeds the limit of {limit} bytes.",
        "invalid_request_error",
        null,
        "request_too_large");

    public static OpenAiError FromProvider(ProviderException exception) => exception.Failure == ProviderFailure.Timeout
        ? new(StatusCodes.Status504GatewayTimeout, exception.Message, "upstream_error", null, "upstream_timeout")
        : new(StatusCodes.Status502BadGateway, exception.Message, "upstream_error", null, "upstream_error");

    /// <summary>The request's own deadline (<c>RequestTimeoutSeconds</c>) passed, whichever call it was waiting for.</summary>
    public static OpenAiError DeadlinePassed(TimeSpan deadline) => new(
        StatusCodes.Status504GatewayTimeout,
        $"The request did not complete within its deadline of {deadline.TotalSeconds:0.###} s.",
        "timeout_error",
        null,
        "request_timeout");

    public static OpenAiError ShuttingDown() => new(
        StatusCodes.Status503ServiceUnavailable, "The gateway is shutting down; retry the request.", "server_error", null, "server_shutting_down");

    public static OpenAiError TooManyRequests() => new(
        StatusCodes.Status429TooManyRequests,
        "The gateway is serving as many requests as it is configured to; retry shortly.",
        "rate_limit_error",
        null,
        "concurrency_limit_exceeded");

    /// <summary>Like OpenAI's answers to a missing or wrong key, without echoing what was presented.</summary>
    public static OpenAiError MissingApiKey() => new(
        StatusCodes.Status401Unauthorized,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        "invalid_request_error",
        null,
        "invalid_api_key");

    public static OpenAiError InvalidApiKey() => new(
        StatusCodes.Status401Unauthorized,
        "Incorrect API key provided. Check the key you send in the Authorization header (Authorization: Bearer YOUR_KEY).",
        "invalid_request_error",
        null,
        "invalid_api_key");

    public static OpenAiError ModelNotAllowed(string model) => new(
        StatusCodes.Status403Forbidden,
        $"This API key is not allowed to use the model '{model}'.",
        "invalid_request_error",
        "model",
        "model_not_allowed");

    /// <summary>A request's <c>moa</c> object replaces part of its virtual model while <c>MoaGateway:Overrides:Enabled</c> is off.</summary>
    public static OpenAiError OverridesNotAllowed(string param) => new(
        StatusCodes.Status403Forbidden,
        $"'{param}' replaces part of the virtual model, and this gateway does not allow requests to do so (MoaGateway:Overrides:Enabled is off).",
        "invalid_request_error",
        param,
        "overrides_not_allowed");

    /// <summary>A request asks to see the proposers' answers while <c>MoaGateway:Panel:Expose</c> is <c>never</c>.</summary>
    public static OpenAiError PanelNotAllowed(string param) => new(
        StatusCodes.Status403Forbidden,
        $"'{param}' asks for the proposers' answers, and this gateway does not show them (MoaGateway:Panel:Expose is 'never').",
        "invalid_request_error",
        param,
        "panel_not_allowed");

    public static OpenAiError MoaOnPassthrough(string model) => InvalidRequest(
        $"'moa' applies to virtual models only; '{model}' is passed through to its provider as it is. Remove 'moa', or name a virtual model from GET /v1/models.",
        "moa",
        "unsupported_parameter");

    /// <summary>A virtual model named on an endpoint that only passes through (<c>embeddings</c>, relative to <c>/v1</c>).</summary>
    public static OpenAiError VirtualModelOnPassthrough(string model, string endpoint) => InvalidRequest(
        $"'{model}' is a virtual model, and virtual models answer only POST /v1/chat/completions and POST /v1/responses. " +
        $"POST /v1/{endpoint} passes through to a provider: name its model as '<provider>/<model>'.",
        "model",
        "unsupported_model");

    public static OpenAiError KeyRateLimited(int requestsPerMinute) => new(
        StatusCodes.Status429TooManyRequests,
        $"Rate limit reached for this API key: {requestsPerMinute} requests per minute. Retry after the time in the Retry-After header.",
        "rate_limit_error",
        null,
        "rate_limit_exceeded");

    public static OpenAiError KeyConcurrencyLimited(int maxConcurrentRequests) => new(
        StatusCodes.Status429TooManyRequests,
        $"This API key already has {maxConcurrentRequests} requests in flight, its limit; retry when one has finished.",
        "rate_limit_error",
        null,
        "concurrency_limit_exceeded");

    /// <summary>As OpenAI answers a spent quota; retrying does not help before the period ends, so the SDKs that obey <c>x-should-retry</c> are told not to.</summary>
    public static OpenAiError BudgetSpent(BudgetPeriod period, decimal cap, decimal spent, DateTimeOffset resetsAt) => new(
        StatusCodes.Status429TooManyRequests,
        string.Create(CultureInfo.InvariantCulture,
            $"This API key has spent its {(period == BudgetPeriod.Day ? "daily" : "monthly")} budget of ${cap:0.00##} (${spent:0.00####} this UTC {(period == BudgetPeriod.Day ? "day" : "month")}). " +
            $"It resets at {resetsAt:yyyy-MM-ddTHH:mm:ssZ}; GET /v1/me shows what is left."),
        "insufficient_quota",
        null,
        "insufficient_quota")
    {
        ShouldRetry = false,
    };

    public static OpenAiError NoClientKeys() => new(
        StatusCodes.Status404NotFound,
        "GET /v1/me describes the client key a request is made with, and this gateway has no client keys configured.",
        "invalid_request_error",
        null,
        "no_client_keys");

    public static OpenAiError SharedStateUnavailable() => new(
        StatusCodes.Status503ServiceUnavailable,
        "The gateway cannot reach the store its limits are shared in, and refuses requests of limited keys until it can; retry shortly.",
        "server_error",
        null,
        "shared_state_unavailable");

    public static OpenAiError ProviderUnavailable(string reason) =>
        new(StatusCodes.Status503ServiceUnavailable, reason, "upstream_error", "model", "provider_unavailable");

    public static OpenAiError Internal() => new(
        StatusCodes.Status500InternalServerError, "The gateway failed to process the request.", "server_error", null, "internal_error");

    public void WriteTo(Utf8JsonWriter json) => ChatCompletionJson.WriteError(json, Message, Type, Param, Code);

    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = StatusCode;
        if (ShouldRetry is { } shouldRetry)
        {
            httpContext.Response.Headers["x-should-retry"] = shouldRetry ? "true" : "false";
        }

        return new JsonWriterResult(WriteTo).ExecuteAsync(httpContext);
    }
}
