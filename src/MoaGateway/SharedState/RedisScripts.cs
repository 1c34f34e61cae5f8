namespace MoaGateway.SharedState;

/// <summary>
/// The Lua scripts that keep client keys' counts in Redis, each run atomically. Every key of one client key carries
/// the hash tag <c>{id}</c>, so the keys a script touches share a cluster slot. Amounts are whole nano-dollars; slot
/// expiries are Redis's own clock (<c>TIME</c>), so replicas whose clocks differ agree on when a slot has expired.
/// </summary>
internal static class RedisScripts
{
    /// <summary>
    /// KEYS: day spend, month spend, the minute's count, the slots (a sorted set of slot ids by expiry).
    /// ARGV: day cap, month cap (-1: none), requests per minute (0: none), the minute key's time to live in seconds,
    /// slots (0: none), the slot's lease in ms, the slot's id.
    /// Returns { outcome, day spend, month spend }: 0 admitted (the slot taken), 1 budget spent, 2 minute full, 3 no slot free.
    /// </summary>
    public const string Admit = """
        local day = tonumber(redis.call('GET', KEYS[1]) or '0')
        local month = tonumber(redis.call('GET', KEYS[2]) or '0')
        local dayCap, monthCap = tonumber(ARGV[1]), tonumber(ARGV[2])
        if (dayCap >= 0 and day >= dayCap) or (monthCap >= 0 and month >= monthCap) then
          return { 1, day, month }
        end
        local perMinute = tonumber(ARGV[3])
        if perMinute > 0 then
          local count = redis.call('INCR', KEYS[3])
          if count == 1 then redis.call('EXPIRE', KEYS[3], ARGV[4]) end
          if count > perMinute then return { 2, day, month } end
        end
        local slots = tonumber(ARGV[5])
        if slots > 0 then
          local time = redis.call('TIME')
          local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
          redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
          if redis.call('ZCARD', KEYS[4]) >= slots then return { 3, day, month } end
          redis.call('ZADD', KEYS[4], now + tonumber(ARGV[6]), ARGV[7])
          redis.call('PEXPIRE', KEYS[4], ARGV[6])
        end
        return { 0, day, month }
        """;

    /// <summary>KEYS: day spend, month spend. ARGV: nano-dollars, the day key's and the month key's time to live in seconds. Returns { day, month }.</summary>
    public const string Charge = """
        local day = redis.call('INCRBY', KEYS[1], ARGV[1])
        redis.call('EXPIRE', KEYS[1], ARGV[2])
        local month = redis.call('INCRBY', KEYS[2], ARGV[1])
        redis.call('EXPIRE', KEYS[2], ARGV[3])
        return { day, month }
        """;

    /// <summary>
    /// KEYS: the slots. ARGV: the lease in ms, <c>XX</c> to extend only slots still there (renewal) or <c>CH</c> to add them
    /// as well (after an outage, when they may have expired or been taken in this replica alone), then the slot ids.
    /// </summary>
    public const string Renew = """
        local time = redis.call('TIME')
        local expiry = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) + tonumber(ARGV[1])
        for i = 3, #ARGV do
          redis.call('ZADD', KEYS[1], ARGV[2], expiry, ARGV[i])
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        return #ARGV - 2
        """;
}
