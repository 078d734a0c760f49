namespace OtpVerification.Redis.Stores;

/// <summary>
/// The Lua scripts behind <see cref="RedisPendingRegistrationStore"/>: one per operation, each
/// atomic, each touching only the keys of one address (one hash slot).
/// </summary>
/// <remarks>
/// <para>
/// Keys: <c>…:reg</c> is a hash with <c>h</c> (code hash), <c>c</c> (code expiry), <c>e</c>
/// (entry expiry), <c>a</c> (attempts left) and <c>d</c> (device hash, when bound to a device);
/// <c>…:pay</c> is a string with the sealed destinations and the protected payload; <c>…:lim</c>
/// is a hash with <c>n</c> (sends in the window), <c>s</c> (window start), <c>w</c> (window
/// length), <c>l</c> (last send), <c>p</c> (the send before it) and <c>k</c> (cooldown).
/// </para>
/// <para>
/// Instants are <see cref="DateTimeOffset.UtcTicks"/> as decimal strings and durations are ticks,
/// all taken from the caller's <c>now</c> (never Redis <c>TIME</c>). Lua numbers are doubles, too
/// narrow for ticks since year 1, so an instant is split into milliseconds and the ticks after
/// them (<c>t</c>) and only differences are computed (<c>d</c>), which are exact: expiry, cooldown
/// and retry-after match the in-memory store to the tick. Numbers are written back with
/// <c>%d</c>, never Lua's default 14-digit format.
/// </para>
/// <para>
/// Every script begins with a shebang (<c>#!lua</c>, Redis 7.0 or newer) that declares its flags.
/// Without <c>no-writes</c> a script counts as a write, and Redis refuses it <em>whole</em>, before
/// it runs, when <c>maxmemory</c> is reached with <c>noeviction</c>: a verify that cannot count
/// its attempt never compares the code (fail closed), and a send never leaves anything
/// half-written. Only <see cref="CancelSend"/> and <see cref="Delete"/> declare
/// <c>allow-oom</c>: they give back a send slot or remove an entry, and must work when memory is
/// short. Every key gets a TTL: the registration until its expiry, the limits until the later of
/// the window's end and the cooldown's end.
/// </para>
/// <para>
/// The store runs them with StackExchange.Redis's <c>ScriptEvaluateAsync</c>: it sends
/// <c>EVALSHA</c> once the server knows the script, sends it again after <c>NOSCRIPT</c> (a
/// restart, a failover, <c>SCRIPT FLUSH</c>), and routes each call by its keys' hash slot.
/// </para>
/// </remarks>
internal static class RedisStoreScripts
{
    /// <summary>Scripts that write: refused whole by Redis when memory is full.</summary>
    private const string Writes = "#!lua\n";

    /// <summary>Scripts that only remove or give back: they run when memory is full.</summary>
    private const string WritesUnderOom = "#!lua flags=allow-oom\n";

    private const string Prelude = """
        local function t(s) return {tonumber(string.sub(s, 1, -5)), tonumber(string.sub(s, -4))} end
        local function d(a, b) return (a[1] - b[1]) * 10000 + (a[2] - b[2]) end
        local function i(x) return string.format('%d', x) end
        local function ms(ticks) return i(math.ceil(ticks / 10000)) end
        local function lim_load(key, now)
          local v = redis.call('HMGET', key, 'n', 's', 'w', 'l', 'p', 'k')
          local m = {n = tonumber(v[1]) or 0, s = v[2], w = tonumber(v[3]) or 0, l = v[4], p = v[5], k = tonumber(v[6]) or 0}
          if m.n > 0 and d(now, t(m.s)) >= m.w then m.n = 0 end
          if m.l and m.n == 0 and d(now, t(m.l)) >= m.k then m.l = false; m.p = false end
          return m
        end
        local function lim_take(m, now, nows, k, max, w)
          if m.l and k > 0 then
            local since = d(now, t(m.l))
            if since < k then return 1, k - since end
          end
          if m.n > 0 and d(now, t(m.s)) >= w then m.n = 0 end
          if m.n >= max then
            if m.s then return 2, w - d(now, t(m.s)) end
            return 2, 0
          end
          if m.n == 0 then m.s = nows end
          m.n = m.n + 1; m.w = w; m.k = k; m.p = m.l; m.l = nows
          return 0, 0
        end
        local function lim_save(key, m, now)
          local ttl = 0
          if m.n > 0 then ttl = m.w - d(now, t(m.s)) end
          if m.l then
            local c = m.k - d(now, t(m.l))
            if c > ttl then ttl = c end
          end
          if ttl <= 0 then
            redis.call('DEL', key)
            return
          end
          local f = {'n', i(m.n), 'w', i(m.w), 'k', i(m.k)}
          if m.s then f[#f + 1] = 's'; f[#f + 1] = m.s end
          if m.l then f[#f + 1] = 'l'; f[#f + 1] = m.l end
          if m.p then f[#f + 1] = 'p'; f[#f + 1] = m.p end
          redis.call('HSET', key, unpack(f))
          if not m.l then redis.call('HDEL', key, 'l') end
          if not m.p then redis.call('HDEL', key, 'p') end
          redis.call('PEXPIRE', key, ms(ttl))
        end

        """;

    /// <summary>KEYS reg, pay, lim. ARGV now, cooldown, max, window, hash, code expiry, expiry, attempts, device hash or '', sealed payload. Returns {status, retry}.</summary>
    public static readonly string Create = Writes + Prelude + """
        local now = t(ARGV[1])
        local m = lim_load(KEYS[3], now)
        local st, retry = lim_take(m, now, ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
        if st ~= 0 then return {st, retry} end
        lim_save(KEYS[3], m, now)
        redis.call('DEL', KEYS[1], KEYS[2])
        local life = d(t(ARGV[7]), now)
        if life > 0 then
          if ARGV[9] == '' then
            redis.call('HSET', KEYS[1], 'h', ARGV[5], 'c', ARGV[6], 'e', ARGV[7], 'a', ARGV[8])
          else
            redis.call('HSET', KEYS[1], 'h', ARGV[5], 'c', ARGV[6], 'e', ARGV[7], 'a', ARGV[8], 'd', ARGV[9])
          end
          redis.call('PEXPIRE', KEYS[1], ms(life))
          redis.call('SET', KEYS[2], ARGV[10], 'PX', ms(life))
        end
        return {0, 0}
        """;

    /// <summary>KEYS lim. ARGV now, cooldown, max, window. Returns {status, retry}.</summary>
    public static readonly string Reserve = Writes + Prelude + """
        local now = t(ARGV[1])
        local m = lim_load(KEYS[1], now)
        local st, retry = lim_take(m, now, ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
        if st == 0 then lim_save(KEYS[1], m, now) end
        return {st, retry}
        """;

    /// <summary>KEYS reg, pay, lim. ARGV now, cooldown, max, window, hash, code expiry, attempts. Returns {status, retry[, code expiry, expiry, sealed payload]}.</summary>
    public static readonly string Resend = Writes + Prelude + """
        local now = t(ARGV[1])
        local m = lim_load(KEYS[3], now)
        local st, retry = lim_take(m, now, ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
        if st ~= 0 then return {st, retry} end
        lim_save(KEYS[3], m, now)
        local e = redis.call('HGET', KEYS[1], 'e')
        if not e then return {4, 0} end
        if d(now, t(e)) >= 0 then
          redis.call('DEL', KEYS[1], KEYS[2])
          return {4, 0}
        end
        local pay = redis.call('GET', KEYS[2])
        if not pay then
          redis.call('DEL', KEYS[1])
          return {4, 0}
        end
        local c = ARGV[6]
        if d(t(c), t(e)) > 0 then
          e = c
          local life = ms(d(t(e), now))
          redis.call('PEXPIRE', KEYS[1], life)
          redis.call('PEXPIRE', KEYS[2], life)
        end
        redis.call('HSET', KEYS[1], 'h', ARGV[5], 'c', c, 'a', ARGV[7], 'e', e)
        return {0, 0, c, e, pay}
        """;

    /// <summary>KEYS reg, pay. ARGV now, hash, device hash or ''. Returns {status[, attempts left[, code expiry, expiry, attempts, sealed payload]]}.</summary>
    public static readonly string Verify = Writes + Prelude + """
        local r = redis.call('HMGET', KEYS[1], 'h', 'c', 'e', 'a', 'd')
        if not r[1] then return {1} end
        local now = t(ARGV[1])
        if d(now, t(r[3])) >= 0 then
          redis.call('DEL', KEYS[1], KEYS[2])
          return {1}
        end
        if r[5] and r[5] ~= ARGV[3] then return {5} end
        local a = tonumber(r[4])
        if a <= 0 then return {4} end
        if d(now, t(r[2])) >= 0 then return {3} end
        local left = a - 1
        if r[1] == ARGV[2] then
          local pay = redis.call('GET', KEYS[2])
          redis.call('DEL', KEYS[1], KEYS[2])
          if not pay then return {1} end
          return {0, left, r[2], r[3], r[4], pay}
        end
        redis.call('HSET', KEYS[1], 'a', i(left))
        return {2, left}
        """;

    /// <summary>KEYS reg, pay, lim. ARGV now, hash, '1' to remove the registration. Returns 1 when the slot was given back.</summary>
    public static readonly string CancelSend = WritesUnderOom + Prelude + """
        local r = redis.call('HMGET', KEYS[1], 'h', 'e')
        if not r[1] then return 0 end
        local now = t(ARGV[1])
        if d(now, t(r[2])) >= 0 then
          redis.call('DEL', KEYS[1], KEYS[2])
          return 0
        end
        if r[1] ~= ARGV[2] then return 0 end
        local m = lim_load(KEYS[3], now)
        if m.n > 0 then m.n = m.n - 1 end
        m.l = m.p
        m.p = false
        lim_save(KEYS[3], m, now)
        if ARGV[3] == '1' then redis.call('DEL', KEYS[1], KEYS[2]) end
        return 1
        """;

    /// <summary>KEYS reg, pay. ARGV now. Returns 1 when a live registration was removed.</summary>
    public static readonly string Delete = WritesUnderOom + Prelude + """
        local e = redis.call('HGET', KEYS[1], 'e')
        if not e then return 0 end
        redis.call('DEL', KEYS[1], KEYS[2])
        if d(t(ARGV[1]), t(e)) >= 0 then return 0 end
        return 1
        """;
}
