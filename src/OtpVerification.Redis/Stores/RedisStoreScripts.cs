namespace OtpVerification.Redis.Stores;

/// <summary>
/// The Lua scripts behind <see cref="RedisPendingRegistrationStore"/>: one per operation, each
/// atomic, each touching only the keys of one address (one hash slot).
/// </summary>
/// <remarks>
/// <para>
/// Keys: <c>…:reg</c> is a hash with <c>h</c> (code hash), <c>c</c> (code expiry), <c>e</c>
/// (entry expiry), <c>a</c> (attempts left), <c>ia</c> (the attempts the code had when it was
/// sent: an undone send keeps the guesses made on it), <c>k</c> (the code, protected by the app, for a
/// same-code resend), <c>f</c> (hash of the flow id), <c>d</c> (device
/// hash, when bound to a device), <c>w</c> (the sealed destination the code went to, when it is
/// not the first one), <c>x</c> (a decoy) and <c>u</c> (how to undo the last send: <c>r</c>, put
/// back the previous code kept in <c>ph</c>, <c>pc</c>, <c>pa</c>, <c>pe</c>, <c>pw</c>, <c>pk</c>; <c>s</c>,
/// put back the registration a restart replaced, kept under <c>…:oreg</c> and <c>…:opay</c>);
/// <c>…:pay</c> is a string with the sealed destinations, device id and flow id and the protected
/// payload; <c>…:lim</c> is a sorted set of the sends still inside the rolling window (or the
/// cooldown), scored by their instant.
/// </para>
/// <para>
/// Instants are ticks since 2020-01-01 (<see cref="RedisPendingRegistrationStore.Epoch"/>) and
/// durations are ticks, all taken from the caller's <c>now</c> (never Redis <c>TIME</c>): below
/// 2^53 until 2048, so Lua's doubles hold them exactly and expiry, cooldown and retry-after match
/// the in-memory store to the tick. Numbers are written back with <c>%d</c>.
/// </para>
/// <para>
/// Every script begins with a shebang (<c>#!lua</c>, Redis 7.0 or newer) that declares its flags.
/// Without <c>no-writes</c> a script counts as a write, and Redis refuses it <em>whole</em>, before
/// it runs, when <c>maxmemory</c> is reached with <c>noeviction</c>: a verify that cannot count
/// its attempt never compares the code (fail closed), and a send never leaves anything
/// half-written. Only <see cref="CancelSend"/> and <see cref="Delete"/> declare
/// <c>allow-oom</c>: they give back a send slot or remove an entry, and must work when memory is
/// short. As a second guard, every write path still writes before it does anything else that
/// Redis would refuse when full (the send slot for the send scripts, after one read; the attempt
/// for verify, counted before any hash is compared). A script with flags may touch only the keys
/// it is given in <c>KEYS</c>, all in one hash slot; ours do. Every key gets a TTL.
/// </para>
/// <para>
/// The store sends <c>EVALSHA</c> with each script's SHA-1, computed once (<see cref="StoreScript"/>);
/// when the server answers <c>NOSCRIPT</c> (a restart, a failover, <c>SCRIPT FLUSH</c>) it sends
/// the text through StackExchange.Redis's <c>ScriptEvaluateAsync</c>, which loads it.
/// StackExchange.Redis routes each call by its keys' hash slot.
/// </para>
/// <para>
/// What a script costs Redis is mostly the commands it runs, and none may cost in proportion to
/// the sends a key holds (an app-wide SMS budget can hold millions in its window, and Redis runs
/// one command at a time). A send check reads the latest send (<c>ZREVRANGE 0 0</c>) and counts
/// the window (<c>ZCOUNT</c>), each O(log n); a key with no sends skips the count and the clean-up.
/// An allowed send adds itself with <c>ZADD NX</c> (a name already taken, after a send was given
/// back, is never overwritten: the next number is tried), drops what is older than the window and
/// the cooldown, and sets the TTL. A create for a new address runs 8 commands, a client check 3, a
/// check refused by the cooldown 1 (<c>RedisStoreLayoutTests.SendChecks_RunFewCommandsInsideTheScript</c>;
/// <c>SendLimitAttackTests</c> holds a check on a window of 100,000 sends to a few milliseconds).
/// </para>
/// </remarks>
internal static class RedisStoreScripts
{
    /// <summary>Scripts that write: refused whole by Redis when memory is full.</summary>
    private const string Writes = "#!lua\n";

    /// <summary>Scripts that only remove or give back: they run when memory is full.</summary>
    private const string WritesUnderOom = "#!lua flags=allow-oom\n";

    private const string Prelude = """
        local function i(x) return string.format('%d', x) end
        local function ms(ticks) return i(math.ceil(ticks / 10000)) end
        local function take(key, now, k, max, w)
          local keep = w
          if k > keep then keep = k end
          local last = redis.call('ZREVRANGE', key, 0, 0, 'WITHSCORES')
          local latest = nil
          if last[2] then latest = tonumber(last[2]) end
          if k > 0 and latest then
            local since = now - latest
            if since < k then return 1, k - since end
          end
          local n = 0
          if latest then n = redis.call('ZCOUNT', key, '(' .. i(now - w), '+inf') end
          if n >= max then
            local leaving = redis.call('ZRANGE', key, '(' .. i(now - w), '+inf', 'BYSCORE', 'LIMIT', n - max, 1, 'WITHSCORES')
            return 2, tonumber(leaving[2]) + w - now
          end
          local c = n
          while redis.call('ZADD', key, 'NX', i(now), i(now) .. ':' .. c) == 0 do c = c + 1 end
          if latest then redis.call('ZREMRANGEBYSCORE', key, '-inf', i(now - keep)) end
          if not latest or latest < now then latest = now end
          redis.call('PEXPIRE', key, ms(latest + keep - now))
          return 0, 0
        end
        local function live(key, now)
          local e = redis.call('HGET', key, 'e')
          return e and tonumber(e) > now
        end

        """;

    /// <summary>KEYS reg, pay, lim, oreg, opay. ARGV now, cooldown, max, window, hash, code expiry, expiry, attempts, device hash or '', flow hash, sealed destination or '', decoy '1' or '', sealed payload, protected code or ''. Returns {status, retry}.</summary>
    public static readonly StoreScript Create = new(Writes + Prelude + """
        local now = tonumber(ARGV[1])
        local st, retry = take(KEYS[3], now, tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
        if st ~= 0 then return {st, retry} end
        if live(KEYS[1], now) and redis.call('EXISTS', KEYS[2]) == 1 then
          redis.call('RENAME', KEYS[1], KEYS[4])
          redis.call('RENAME', KEYS[2], KEYS[5])
        else
          redis.call('DEL', KEYS[1], KEYS[2], KEYS[4], KEYS[5])
        end
        local life = tonumber(ARGV[7]) - now
        if life > 0 then
          local f = {'h', ARGV[5], 'c', ARGV[6], 'e', ARGV[7], 'a', ARGV[8], 'ia', ARGV[8], 'f', ARGV[10], 'u', 's'}
          if ARGV[9] ~= '' then f[#f + 1] = 'd'; f[#f + 1] = ARGV[9] end
          if ARGV[11] ~= '' then f[#f + 1] = 'w'; f[#f + 1] = ARGV[11] end
          if ARGV[12] == '1' then f[#f + 1] = 'x'; f[#f + 1] = '1' end
          if ARGV[14] ~= '' then f[#f + 1] = 'k'; f[#f + 1] = ARGV[14] end
          redis.call('HSET', KEYS[1], unpack(f))
          redis.call('PEXPIRE', KEYS[1], ms(life))
          redis.call('SET', KEYS[2], ARGV[13], 'PX', ms(life))
        end
        return {0, 0}
        """);

    /// <summary>KEYS lim. ARGV now, cooldown, max, window. Returns {status, retry}.</summary>
    public static readonly StoreScript Reserve = new(Writes + Prelude + """
        local st, retry = take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
        return {st, retry}
        """);

    /// <summary>KEYS reg, pay, lim, oreg, opay. ARGV now, cooldown, max, window, hash, code expiry, attempts, protected code or '', reuse while remaining (ticks, or '' for never). Returns {status, retry[, code expiry, expiry, decoy, sealed payload, hash, attempts, sealed destination or '', protected code or '']}.</summary>
    public static readonly StoreScript Resend = new(Writes + Prelude + """
        local now = tonumber(ARGV[1])
        local st, retry = take(KEYS[3], now, tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
        if st ~= 0 then return {st, retry} end
        local r = redis.call('HMGET', KEYS[1], 'h', 'c', 'e', 'a', 'w', 'x', 'k')
        if not r[1] then return {4, 0} end
        local e = tonumber(r[3])
        if now >= e then
          redis.call('DEL', KEYS[1], KEYS[2])
          return {4, 0}
        end
        local pay = redis.call('GET', KEYS[2])
        if not pay then
          redis.call('DEL', KEYS[1])
          return {4, 0}
        end
        redis.call('HSET', KEYS[1], 'ph', r[1], 'pc', r[2], 'pa', r[4], 'pe', r[3], 'u', 'r')
        redis.call('DEL', KEYS[4], KEYS[5])
        if r[5] then redis.call('HSET', KEYS[1], 'pw', r[5]) else redis.call('HDEL', KEYS[1], 'pw') end
        if r[7] then redis.call('HSET', KEYS[1], 'pk', r[7]) else redis.call('HDEL', KEYS[1], 'pk') end
        if ARGV[9] ~= '' and r[7] and tonumber(r[4]) > 0 and tonumber(r[2]) - now >= tonumber(ARGV[9]) then
          redis.call('HSET', KEYS[1], 'ia', r[4])
          return {0, 0, r[2], r[3], r[6] or '', pay, r[1], r[4], r[5] or '', r[7]}
        end
        local c = tonumber(ARGV[6])
        local ne = e
        if c > e then
          ne = c
          redis.call('PEXPIRE', KEYS[1], ms(ne - now))
          redis.call('PEXPIRE', KEYS[2], ms(ne - now))
        end
        redis.call('HSET', KEYS[1], 'h', ARGV[5], 'c', ARGV[6], 'a', ARGV[7], 'ia', ARGV[7], 'e', i(ne))
        redis.call('HDEL', KEYS[1], 'w')
        if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'k', ARGV[8]) else redis.call('HDEL', KEYS[1], 'k') end
        return {0, 0, ARGV[6], i(ne), r[6] or '', pay, ARGV[5], ARGV[7], '', ARGV[8]}
        """);

    /// <summary>KEYS reg. ARGV expected hash, new hash, sealed destination, now, protected code or ''. Returns 1 when moved.</summary>
    public static readonly StoreScript Redirect = new(Writes + Prelude + """
        if not live(KEYS[1], tonumber(ARGV[4])) then return 0 end
        if redis.call('HGET', KEYS[1], 'h') ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'h', ARGV[2], 'w', ARGV[3])
        if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'k', ARGV[5]) else redis.call('HDEL', KEYS[1], 'k') end
        return 1
        """);

    /// <summary>KEYS reg, pay, oreg, opay. ARGV now, flow hash, device hash or '', n, hash 1 … hash n. Returns {status[, attempts left[, code expiry, expiry, attempts, sealed payload, sealed destination or '']]}.</summary>
    public static readonly StoreScript Verify = new(Writes + Prelude + """
        local r = redis.call('HMGET', KEYS[1], 'h', 'c', 'e', 'a', 'd', 'f', 'x', 'w')
        if not r[1] then return {1} end
        local now = tonumber(ARGV[1])
        if now >= tonumber(r[3]) then
          redis.call('DEL', KEYS[1], KEYS[2])
          return {1}
        end
        if r[6] ~= ARGV[2] then return {6} end
        if r[5] and r[5] ~= ARGV[3] then return {5} end
        local a = tonumber(r[4])
        if a <= 0 then return {4} end
        if now >= tonumber(r[2]) then return {3} end
        local left = a - 1
        redis.call('HSET', KEYS[1], 'a', i(left))
        local hit = false
        if not r[7] then
          for j = 1, tonumber(ARGV[4]) do
            if r[1] == ARGV[4 + j] then hit = true end
          end
        end
        if hit then
          local pay = redis.call('GET', KEYS[2])
          redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
          if not pay then return {1} end
          return {0, left, r[2], r[3], r[4], pay, r[8] or '', r[1]}
        end
        return {2, left}
        """);

    /// <summary>KEYS reg, pay, lim, oreg, opay. ARGV now, hash. Returns 1 when the send was undone.</summary>
    public static readonly StoreScript CancelSend = new(WritesUnderOom + Prelude + """
        local now = tonumber(ARGV[1])
        if not live(KEYS[1], now) then return 0 end
        local r = redis.call('HMGET', KEYS[1], 'h', 'u', 'ph', 'pc', 'pa', 'pe', 'pw', 'pk', 'a', 'ia')
        if not r[1] or r[1] ~= ARGV[2] then return 0 end
        local guesses = 0
        if r[10] then guesses = math.max(0, tonumber(r[10]) - tonumber(r[9])) end
        if guesses == 0 then redis.call('ZPOPMAX', KEYS[3]) end
        if r[2] == 'r' then
          local pe = tonumber(r[6])
          if pe <= now then
            redis.call('DEL', KEYS[1], KEYS[2])
            return 1
          end
          redis.call('HSET', KEYS[1], 'h', r[3], 'c', r[4], 'a', i(math.max(0, tonumber(r[5]) - guesses)), 'e', r[6], 'u', 's')
          redis.call('HDEL', KEYS[1], 'ph', 'pc', 'pa', 'pe', 'pw', 'pk', 'w', 'k')
          if r[7] then redis.call('HSET', KEYS[1], 'w', r[7]) end
          if r[8] then redis.call('HSET', KEYS[1], 'k', r[8]) end
          redis.call('PEXPIRE', KEYS[1], ms(pe - now))
          redis.call('PEXPIRE', KEYS[2], ms(pe - now))
          return 1
        end
        redis.call('DEL', KEYS[1], KEYS[2])
        if live(KEYS[4], now) and redis.call('EXISTS', KEYS[5]) == 1 then
          redis.call('RENAME', KEYS[4], KEYS[1])
          redis.call('RENAME', KEYS[5], KEYS[2])
          redis.call('HSET', KEYS[1], 'u', 's')
          redis.call('HDEL', KEYS[1], 'ph', 'pc', 'pa', 'pe', 'pw', 'pk')
          if guesses > 0 then
            local left = tonumber(redis.call('HGET', KEYS[1], 'a')) or 0
            redis.call('HSET', KEYS[1], 'a', i(math.max(0, left - guesses)))
          end
        else
          redis.call('DEL', KEYS[4], KEYS[5])
        end
        return 1
        """);

    /// <summary>KEYS reg, pay. ARGV now, hash, code expiry, expiry, attempts, device hash or '', flow hash, sealed destination or '', decoy '1' or '', sealed payload, protected code or ''. Returns 1 when put back.</summary>
    public static readonly StoreScript PutBack = new(Writes + Prelude + """
        local now = tonumber(ARGV[1])
        if live(KEYS[1], now) then return 0 end
        local life = tonumber(ARGV[4]) - now
        if life <= 0 then return 0 end
        redis.call('SET', KEYS[2], ARGV[10], 'PX', ms(life))
        redis.call('DEL', KEYS[1])
        local f = {'h', ARGV[2], 'c', ARGV[3], 'e', ARGV[4], 'a', ARGV[5], 'f', ARGV[7], 'u', 's'}
        if ARGV[6] ~= '' then f[#f + 1] = 'd'; f[#f + 1] = ARGV[6] end
        if ARGV[8] ~= '' then f[#f + 1] = 'w'; f[#f + 1] = ARGV[8] end
        if ARGV[9] == '1' then f[#f + 1] = 'x'; f[#f + 1] = '1' end
        if ARGV[11] ~= '' then f[#f + 1] = 'k'; f[#f + 1] = ARGV[11] end
        redis.call('HSET', KEYS[1], unpack(f))
        redis.call('PEXPIRE', KEYS[1], ms(life))
        return 1
        """);

    /// <summary>KEYS used. ARGV lifetime in milliseconds. Marks the key used for that long; returns 1 for the first use, 0 when it was marked already.</summary>
    public static readonly StoreScript ConsumeOnce = new(Writes + """
        if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 1 end
        return 0
        """);

    /// <summary>KEYS reg, pay, oreg, opay. ARGV now. Returns 1 when a live registration was removed.</summary>
    public static readonly StoreScript Delete = new(WritesUnderOom + Prelude + """
        local was = live(KEYS[1], tonumber(ARGV[1]))
        redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
        if was then return 1 end
        return 0
        """);
}

/// <summary>
/// One store script: its text, and the SHA-1 Redis knows it by. The store sends <c>EVALSHA</c>
/// with the hash it computed once here, so no call hashes or looks up the script's text; only
/// when the server answers <c>NOSCRIPT</c> (a restart, a failover, <c>SCRIPT FLUSH</c>) is the
/// text sent, through StackExchange.Redis's <c>ScriptEvaluateAsync(string, …)</c>, which loads it.
/// </summary>
internal sealed class StoreScript
{
    public StoreScript(string text)
    {
        Text = text;
        Hash = System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes(text));
    }

    /// <summary>The Lua source, as sent with <c>EVAL</c>.</summary>
    public string Text { get; }

    /// <summary>SHA-1 of the UTF-8 source: the name <c>EVALSHA</c> takes.</summary>
    public byte[] Hash { get; }

    /// <summary>The hash as Redis prints it (<c>SCRIPT EXISTS</c>, <c>INFO</c>): 40 lowercase hex digits.</summary>
    public override string ToString() => Convert.ToHexStringLower(Hash);
}
