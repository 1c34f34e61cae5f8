using System.Globalization;

namespace MoaGateway.Bench.Upstream;

/// <summary>
/// How the bench upstream paces one answer: the first token after <see cref="TimeToFirstTokenMs"/>, then one token every
/// <see cref="InterTokenMs"/>, and the finish reason one interval after the last of <see cref="Tokens"/> tokens, so a
/// call lasts exactly <see cref="TotalMs"/>. Every delay counts from the request's arrival, so timer lateness never adds up.
/// </summary>
public readonly record struct Pacing(double TimeToFirstTokenMs, double InterTokenMs, int Tokens)
{
    private const char Separator = '@';

    public double TotalMs => TimeToFirstTokenMs + (Tokens * InterTokenMs);

    /// <summary>A model name that carries this pacing, such as <c>agg@ttft=30,itl=10,n=24</c>.</summary>
    public string Name(string model) => string.Create(
        CultureInfo.InvariantCulture, $"{model}{Separator}ttft={TimeToFirstTokenMs},itl={InterTokenMs},n={Tokens}");

    /// <summary>The pacing a model name asks for: <c>name@ttft=30,itl=10,n=24</c>; what it leaves out keeps <paramref name="defaults"/>.</summary>
    public static Pacing FromModel(string model, Pacing defaults)
    {
        var at = model.LastIndexOf(Separator);
        if (at < 0)
        {
            return defaults;
        }

        var pacing = defaults;
        foreach (var setting in model[(at + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (key, value) = setting.Split('=', 2) is [var k, var v]
                ? (k, double.Parse(v, CultureInfo.InvariantCulture))
                : throw new FormatException($"'{setting}' in model '{model}' is not key=value.");
            pacing = key switch
            {
                "ttft" => pacing with { TimeToFirstTokenMs = value },
                "itl" => pacing with { InterTokenMs = value },
                "n" => pacing with { Tokens = (int)value },
                _ => throw new FormatException($"Unknown pacing key '{key}' in model '{model}' (ttft, itl, n)."),
            };
        }

        return pacing.Tokens >= 1 && pacing.TimeToFirstTokenMs >= 0 && pacing.InterTokenMs >= 0
            ? pacing
            : throw new FormatException($"Model '{model}' asks for an impossible pacing {pacing}.");
    }
}
