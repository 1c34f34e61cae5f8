namespace MoaGateway.Configuration;

/// <summary>Finds the name a misspelt one probably meant, for configuration keys and request fields alike.</summary>
internal static class Spelling
{
    /// <summary>Up to this many edits away, a name is taken for a misspelling of a known one.</summary>
    private const int MaxTypoDistance = 2;

    /// <summary>The known name closest to <paramref name="name"/>, ignoring case, when it is close enough to be a typo of it.</summary>
    public static string? Closest(string name, IEnumerable<string> known)
    {
        var closest = known.Order(StringComparer.Ordinal).Select(candidate => (Name: candidate, Distance: Distance(name, candidate))).MinBy(candidate => candidate.Distance);
        return closest.Name is not null && IsTypo(name, closest.Name) ? closest.Name : null;
    }

    public static bool IsTypo(string name, string of)
    {
        var distance = Distance(name, of);
        return distance <= MaxTypoDistance && distance < name.Length;
    }

    /// <summary>Optimal string alignment distance, ignoring case: a transposition (<c>Modles</c>) is one edit.</summary>
    private static int Distance(string a, string b)
    {
        a = a.ToUpperInvariant();
        b = b.ToUpperInvariant();
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
