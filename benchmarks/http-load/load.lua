-- wrk script shared by every scenario of benchmarks/http-load.sh, so wrk's own per-request work
-- (building a unique body, parsing the answer) is the same everywhere.
--   LOAD_KIND    form   : {name, email, password} with an email unique per request
--                         ({LOAD_PREFIX}-{thread}-{n}@load.test)
--                verify : {email, flowId, code} for {LOAD_PREFIX}-{i}@load.test, i rotating over
--                         [0, LOAD_POOL) so guesses spread evenly over the pool; the flowId is
--                         line i+1 of LOAD_FLOWS (the pool's flows, from GET /loadhost/flows), so
--                         the guess reaches the registration's current flow; the code has 7
--                         digits while codes have 6, so it is wrong every time (400 invalid_code)
--   LOAD_THREADS the -t value (for the rotation)
--   LOAD_FLOWS   verify only: a file of flowIds, one per line, in pool order
--   LOAD_CLIENT  form only: the X-Load-Client header (the client the per-client limit counts):
--                "unique" (default) a new client per request, like many users each under the
--                limit; any other value is sent as is, one client for every request
-- done() prints one RESULT line and one STATUS line per status seen ("400 invalid_code" for a
-- 400 problem with that code), for the shell script to check and tabulate.
local kind = os.getenv("LOAD_KIND") or "form"
local prefix = os.getenv("LOAD_PREFIX") or "u"
local pool = tonumber(os.getenv("LOAD_POOL") or "1")
local nthreads = tonumber(os.getenv("LOAD_THREADS") or "1")
local flowsFile = os.getenv("LOAD_FLOWS")
local client = os.getenv("LOAD_CLIENT") or "unique"

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  statuses = {}
  flows = {}
  if kind == "verify" then
    local file = assert(io.open(flowsFile or "", "r"), "LOAD_FLOWS must name the pool's flowId file")
    for line in file:lines() do
      flows[#flows + 1] = line
    end
    file:close()
    assert(#flows >= pool, "LOAD_FLOWS holds fewer flowIds than LOAD_POOL")
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local body
  if kind == "verify" then
    local i = (counter * nthreads + tid) % pool
    body = string.format('{"email":"%s-%d@load.test","flowId":"%s","code":"0000000"}', prefix, i, flows[i + 1])
  else
    body = string.format('{"name":"Load Test","email":"%s-%d-%d@load.test","password":"S3cure-Passw0rd!"}', prefix, tid, counter)
    if client == "unique" then
      wrk.headers["X-Load-Client"] = string.format("%s-%d-%d", prefix, tid, counter)
    else
      wrk.headers["X-Load-Client"] = client
    end
  end
  counter = counter + 1
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  local key = tostring(status)
  if status >= 400 then
    local code = string.match(body or "", '"code":"([%w_]+)"')
    key = key .. "_" .. (code or "nocode")
  end
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local all = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    if s then
      for k, v in pairs(s) do
        all[k] = (all[k] or 0) + v
      end
    end
  end
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d err_status=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, e.status))
  for k, v in pairs(all) do
    io.write(string.format("STATUS %s %d\n", k, v))
  end
end
