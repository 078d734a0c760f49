#!/usr/bin/env bash
# HTTP load benchmark of OtpVerification (issue 8), one command:
#
#     bash benchmarks/http-load.sh
#
# Builds benchmarks/OtpVerification.LoadHost in Release once, then, for each scenario, starts a
# fresh server process (`dotnet <dll>`), warms it up with wrk, waits until the server is idle,
# reads its CPU time from /proc/<pid>/stat (utime+stime) and its request count, measures with
# wrk, waits until the requests still in flight are done, reads both again, and stops it. CPU per
# request = CPU delta / requests the server received in between (so requests cut off when wrk
# stops are neither lost nor half-counted); req/s and latency are wrk's. A redis-server of its own runs on a free loopback port (no persistence) for the Redis
# scenarios and is stopped at the end, on failure too. Prints a Markdown table: requests/s,
# p50/p99 latency, server CPU per request, and the ratios to the bare minimal-API baseline.
#
# Needs: dotnet (SDK 10), wrk, redis-server, redis-cli, curl.
# Settings (environment): THREADS=2 CONNECTIONS=32 DURATION=15s WARMUP=15s POOL=20000 PAIRED=1.
# PAIRED=1: every scenario's ratios are to a baseline run just before it (a fresh baseline server,
# the same warm-up and duration), not to one baseline at the start: this machine's speed drifts by
# 20 % or more within minutes (the same scenario measured 0.59× and 0.96× in two runs of one
# morning), and a ratio is only as good as the baseline beside it. PAIRED=0 runs the baseline once
# (half the time).
# The warm-up is long enough for tiered compilation to finish on the slowest scenario (a 5 s
# warm-up left the JIT at about 12 % of the server's CPU in the measured run of a Redis start).
# Exit status: 0 when every response had the expected status, 1 otherwise (flagged in the output).
set -euo pipefail

THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-32}"
DURATION="${DURATION:-15s}"
WARMUP="${WARMUP:-15s}"
POOL="${POOL:-20000}"
PAIRED="${PAIRED:-1}"
# The scenarios to run (the table keeps this order; ratios are to the first one run, the baseline
# by default). The issues' scenarios (16 and 14):
#   baseline                     a bare minimal API that binds the form (202)
#   floor-mem                    the floor of the in-memory starts: the bare endpoint plus keeping
#                                281 bytes under each form's email for the rest of the run (the
#                                least a pending signup must keep; the GC then works on a heap that
#                                grows with every request, as it does for an in-memory start)
#   floor-redis1, floor-redis2   the floors of the Redis scenarios: the bare endpoint plus one
#                                Redis script that writes one key, or two sent together (a start
#                                with a client check touches two hash slots); no Redis scenario can
#                                run faster than these on the same machine
#   mem-start, redis-start       start with the Identity completion configured as in the sample (202)
#   mem-start-app, redis-start-app  start with --Completion=AppUsers: the app's own users in a
#                                dictionary, no Identity or EF Core at all (the library's own cost)
#   mem-verify, redis-verify     verify with a wrong code on a pool of pending registrations, each
#                                with its current flowId (400 invalid_code)
#   mem-start-limited, redis-start-limited  start from a client over its hourly limit
#                                (MaxSendsPerClientPerHour=1, used up before the run: 429 rate_limited)
#   identity                     Identity's own MapIdentityApi /register (200), for CPU per request
# and two diagnostic variants, run only when named: mem-start-nolookup, redis-start-nolookup
# (--Completion=NoUserLookup: Identity's password policy, no user-database lookup).
SCENARIOS="${SCENARIOS:-baseline floor-mem floor-redis1 floor-redis2 mem-start mem-start-app mem-verify mem-start-limited redis-start redis-start-app redis-verify redis-start-limited identity}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LUA="$ROOT/benchmarks/http-load/load.lua"
PROJECT="$ROOT/benchmarks/OtpVerification.LoadHost"
DLL="$PROJECT/bin/Release/net10.0/OtpVerification.LoadHost.dll"

for tool in dotnet wrk redis-server redis-cli curl awk; do
  command -v "$tool" >/dev/null || { echo "http-load: '$tool' is required (apt-get install -y wrk redis-server curl)" >&2; exit 2; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/otp-http-load.XXXXXX")"
SERVER_PID=""
REDIS_PID=""

cleanup() {
  local status=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ -n "$REDIS_PID" ]] && kill -0 "$REDIS_PID" 2>/dev/null; then
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
  fi
  if [[ $status -ne 0 && -d "$WORK" ]]; then
    echo "http-load: failed (exit $status); server logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A TCP port nobody listens on, on the loopback interface.
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "http-load: no free port found" >&2
  return 1
}

# utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat; the command
# name in field 2 may hold spaces, so count from after its closing parenthesis).
cpu_ticks() {
  local stat
  stat="$(cat "/proc/$1/stat")"
  stat="${stat##*) }"
  awk '{ print $12 + $13 }' <<<"$stat"
}
CLK_TCK="$(getconf CLK_TCK)"

# Busy ticks of the whole machine (all CPUs), from the first line of /proc/stat.
machine_ticks() {
  awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# Waits until the server uses (almost) no CPU: at most 1 tick per 0.25 s, for up to 60 s.
settle() {
  local prev cur
  prev="$(cpu_ticks "$SERVER_PID")"
  for _ in $(seq 1 240); do
    sleep 0.25
    cur="$(cpu_ticks "$SERVER_PID")"
    (( cur - prev <= 1 )) && return 0
    prev="$cur"
  done
  echo "   (server still busy after 60 s)" >&2
}

echo "== Building the load host (Release)"
dotnet build "$PROJECT" -c Release --nologo -v quiet -clp:ErrorsOnly >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 1; }

GC_MODE="$(grep -o '"System.GC.Server": *[a-z]*' "$PROJECT/bin/Release/net10.0/OtpVerification.LoadHost.runtimeconfig.json" || echo 'runtime default')"

echo "== Starting redis-server"
REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 1 100); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$REDIS_PORT" ping >/dev/null || { echo "http-load: redis-server did not start" >&2; cat "$WORK/redis.log" >&2; exit 1; }

# One code hash key for every server of the run: the Redis store is shared, and the load host
# refuses to start on it without OtpSignup:Code:HashKey.
HASH_KEY="$(head -c 32 /dev/urandom | base64)"

SERVER_PORT=""
start_server() { # name mode [extra host arguments...]
  local name="$1" mode="$2"
  shift 2
  SERVER_PORT="$(free_port)"
  rm -f "$WORK/users-$name.db"
  dotnet "$DLL" --mode "$mode" --urls "http://127.0.0.1:$SERVER_PORT" \
    "--ConnectionStrings:Users=Data Source=$WORK/users-$name.db" \
    "--ConnectionStrings:Redis=127.0.0.1:$REDIS_PORT" "--OtpSignup:Code:HashKey=$HASH_KEY" "$@" >"$WORK/server-$name.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$SERVER_PORT/loadhost/users" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "http-load: the load host did not start ($name)" >&2
  cat "$WORK/server-$name.log" >&2
  exit 1
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

user_rows() {
  curl -sf "http://127.0.0.1:$SERVER_PORT/loadhost/users" | grep -o '[0-9]\+'
}

allocated() {
  curl -sf "http://127.0.0.1:$SERVER_PORT/loadhost/allocated"
}

received() {
  curl -sf "http://127.0.0.1:$SERVER_PORT/loadhost/requests" | grep -o '[0-9]\+'
}

run_wrk() { # out-file duration path kind prefix [flows-file] [client]
  LOAD_KIND="$4" LOAD_PREFIX="$5" LOAD_POOL="$POOL" LOAD_THREADS="$THREADS" LOAD_FLOWS="${6:-}" LOAD_CLIENT="${7:-unique}" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2" --timeout 30s -s "$LUA" "http://127.0.0.1:$SERVER_PORT$3" >"$1" 2>&1
}

FAILED=0
ROWS=()
NOTES=()
declare -A RPS CPU USERS REDISCPU RATIO
REF_RPS=""
REF_CPU=""

# name | label | mode | path | wrk kind | expected status | preparation | [extra host arguments...]
# preparation: no; seed (a pool of POOL pending registrations and their flowIds, for verify);
# limit (one start that uses up the client's hourly allowance of 1, so every measured start is refused).
measure() {
  local name="$1" label="$2" mode="$3" path="$4" kind="$5" expect="$6" seed="$7"
  shift 7
  echo "== $label"
  start_server "$name" "$mode" "$@"
  if [[ "$mode" == "redis" ]]; then
    redis-cli -p "$REDIS_PORT" flushall >/dev/null
  fi
  local flows="" warm_prefix="w$name" run_prefix="m$name" client="unique"
  if [[ "$seed" == "seed" ]]; then
    local seeded missing
    seeded="$(curl -sf -X POST "http://127.0.0.1:$SERVER_PORT/loadhost/seed?prefix=pool&count=$POOL")"
    echo "   seeded $POOL pending registrations through /signup/start: $seeded"
    if [[ "$seeded" != "{\"202\":$POOL}" ]]; then
      echo "   !!! seeding did not answer 202 for every registration" >&2
      FAILED=1
    fi
    flows="$WORK/flows-$name.txt"
    curl -sf "http://127.0.0.1:$SERVER_PORT/loadhost/flows?prefix=pool" >"$flows"
    missing="$(grep -c '^-$' "$flows" || true)"
    if [[ "$(wc -l <"$flows")" -ne "$POOL" || "$missing" -ne 0 ]]; then
      echo "   !!! the pool's flowIds are incomplete ($missing missing)" >&2
      FAILED=1
    fi
    # Verify guesses at the seeded pool, warm-up and measured run alike.
    warm_prefix="pool"; run_prefix="pool"
  elif [[ "$seed" == "limit" ]]; then
    local first
    first="$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
      -H 'X-Load-Client: flood' -d '{"name":"Load Test","email":"limit-first@load.test","password":"S3cure-Passw0rd!"}' "http://127.0.0.1:$SERVER_PORT$path")"
    echo "   the client's one start of the hour answered $first; every start from here on is over the limit"
    if [[ "$first" != "202" ]]; then
      echo "   !!! the start that uses up the client's allowance answered $first, not 202" >&2
      FAILED=1
    fi
    # Every request of the run comes from that one client.
    client="flood"
  fi

  run_wrk "$WORK/warmup-$name.txt" "$WARMUP" "$path" "$kind" "$warm_prefix" "$flows" "$client"
  local before after count0 count1 alloc0 alloc1 machine0 machine1 t0 t1 wrk_cpu redis0 redis1
  settle
  count0="$(received)"
  alloc0="$(allocated)"
  redis0="$(cpu_ticks "$REDIS_PID")"
  before="$(cpu_ticks "$SERVER_PID")"
  machine0="$(machine_ticks)"; t0="$(date +%s.%N)"
  wrk_cpu="$( { TIMEFORMAT='%U %S'; time run_wrk "$WORK/wrk-$name.txt" "$DURATION" "$path" "$kind" "$run_prefix" "$flows" "$client"; } 2>&1 | awk '{ print $1 + $2 }')"
  settle
  after="$(cpu_ticks "$SERVER_PID")"
  redis1="$(cpu_ticks "$REDIS_PID")"
  machine1="$(machine_ticks)"; t1="$(date +%s.%N)"
  alloc1="$(allocated)"
  count1="$(received)"
  local users
  users="$(user_rows)"
  stop_server

  local result
  result="$(grep '^RESULT' "$WORK/wrk-$name.txt")" || { cat "$WORK/wrk-$name.txt" >&2; exit 1; }
  field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$result"; }
  local requests duration p50 p99 errors
  requests="$(field requests)"; duration="$(field duration_us)"
  p50="$(field p50_us)"; p99="$(field p99_us)"
  errors=$(( $(field err_connect) + $(field err_read) + $(field err_write) + $(field err_timeout) ))
  if (( requests == 0 || count1 - count0 == 0 )); then
    echo "http-load: no request was answered in the measured run of '$label'" >&2
    exit 1
  fi

  # Every status seen, measured run and warm-up; anything but the expected one is flagged.
  local statuses bad=""
  statuses="$(grep -h '^STATUS' "$WORK/warmup-$name.txt" "$WORK/wrk-$name.txt" | awk '{ n[$2] += $3 } END { for (k in n) printf "%s×%d ", k, n[k] }')"
  for entry in $statuses; do
    [[ "${entry%%×*}" == "$expect" ]] || bad+="$entry "
  done
  if [[ -n "$bad" || $errors -ne 0 ]]; then
    FAILED=1
    NOTES+=("!!! $label: UNEXPECTED responses: ${bad:-none}; socket errors/timeouts: $errors (all statuses: $statuses)")
    echo "   !!! UNEXPECTED: ${bad}socket errors: $errors" >&2
  fi
  echo "   statuses (warm-up + run): $statuses"
  echo "   user rows in the user database after the run: $users"

  # CPU used by anything but the server, redis-server and wrk over the same interval, in cores: the noise.
  local other redis_us
  other="$(awk -v m=$(( machine1 - machine0 )) -v s=$(( after - before + redis1 - redis0 )) -v hz="$CLK_TCK" -v w="$wrk_cpu" -v t0="$t0" -v t1="$t1" \
    'BEGIN { o = ((m - s) / hz - w) / (t1 - t0); if (o < 0) o = 0; printf "%.2f", o }')"
  redis_us="-"
  if [[ "$mode" == "redis" ]]; then
    redis_us="$(awk -v t=$(( redis1 - redis0 )) -v hz="$CLK_TCK" -v r=$(( count1 - count0 )) 'BEGIN { printf "%.1f", t / hz * 1e6 / r }')"
  fi
  if awk -v o="$other" 'BEGIN { exit !(o > 0.10) }'; then
    NOTES+=("!!! $label: other processes used $other cores during the measurement; the figures are disturbed")
    echo "   !!! other processes used $other cores during the measurement" >&2
  fi
  local wrk_cores
  wrk_cores="$(awk -v w="$wrk_cpu" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f", w / (t1 - t0) }')"

  local rps cpu_us alloc_kib
  alloc_kib="$(awk -v a="$alloc0" -v b="$alloc1" -v r=$(( count1 - count0 )) 'BEGIN { printf "%.1f", (b - a) / 1024 / r }')"
  rps="$(awk -v r="$requests" -v d="$duration" 'BEGIN { printf "%.0f", r / (d / 1e6) }')"
  cpu_us="$(awk -v t=$(( after - before )) -v hz="$CLK_TCK" -v r=$(( count1 - count0 )) 'BEGIN { printf "%.1f", t / hz * 1e6 / r }')"
  RPS[$name]="$rps"; CPU[$name]="$cpu_us"; USERS[$name]="$users"; REDISCPU[$name]="$redis_us"
  # The reference: the baseline run just before (PAIRED=1), or the run's one baseline; a baseline is its own.
  if [[ "$path" == "/baseline" ]]; then REF_RPS="$rps"; REF_CPU="$cpu_us"; fi
  local rps_ratio cpu_ratio
  rps_ratio="$(awk -v a="$rps" -v b="$REF_RPS" 'BEGIN { printf (a / b < 0.01 ? "%.4f" : "%.2f"), a / b }')"
  cpu_ratio="$(awk -v a="$cpu_us" -v b="$REF_CPU" 'BEGIN { printf "%.2f", a / b }')"
  RATIO[$name]="$(awk -v a="$rps" -v b="$REF_RPS" 'BEGIN { printf "%.6f", a / b }')"
  ROWS+=("$(printf '| %s | %s | %s | %.2f | %.2f | %s | %s | %s | %s× | %s× | %s | %s | %s | %s |' \
    "$label" "$requests" "$rps" "$(awk -v v="$p50" 'BEGIN { print v / 1000 }')" "$(awk -v v="$p99" 'BEGIN { print v / 1000 }')" \
    "$cpu_us" "$alloc_kib" "$redis_us" "$rps_ratio" "$cpu_ratio" "$users" "$wrk_cores" "$other" "${statuses% }")")
}

# One scenario, with the baseline run just before it when PAIRED=1.
scenario() {
  local name="$1"
  [[ " $SCENARIOS " == *" $name "* ]] || return 0
  if [[ "$PAIRED" == "1" && "$name" != "baseline" ]]; then
    measure "baseline-before-$name" "(1) baseline POST /baseline, just before the next row" memory /baseline form 202 no
  fi
  measure "$@"
}

START_TIME="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
scenario baseline     "(1) baseline POST /baseline"                 memory   /baseline          form   202              no
scenario floor-mem   "(1m) floor: baseline + 281 B kept per request (under its email, for the run)" memory /baseline-keep form 202 no
scenario floor-redis1 "(1r) floor: baseline + one Redis script (one key written)" redis /baseline-redis1 form 202 no
scenario floor-redis2 "(1r) floor: baseline + two Redis scripts sent together" redis /baseline-redis2 form 202 no
scenario mem-start    "(2) in-memory POST /signup/start (Identity completion, as the sample)" memory /signup/start form 202 no
scenario mem-start-app "(2) in-memory POST /signup/start (library only: the app's own users)" memory /signup/start form 202 no --Completion=AppUsers
scenario mem-verify   "(2) in-memory POST /signup/verify (wrong code)" memory /signup/verify    verify 400_invalid_code seed
scenario mem-start-limited "(2) in-memory POST /signup/start, client over its limit" memory /signup/start form 429_rate_limited limit --OtpSignup:Abuse:MaxSendsPerClientPerHour=1
scenario redis-start  "(3) Redis POST /signup/start (Identity completion, as the sample)" redis /signup/start form 202 no
scenario redis-start-app "(3) Redis POST /signup/start (library only: the app's own users)" redis /signup/start form 202 no --Completion=AppUsers
scenario redis-verify "(3) Redis POST /signup/verify (wrong code)"  redis    /signup/verify     verify 400_invalid_code seed
scenario redis-start-limited "(3) Redis POST /signup/start, client over its limit" redis /signup/start form 429_rate_limited limit --OtpSignup:Abuse:MaxSendsPerClientPerHour=1
scenario mem-start-nolookup   "(d) in-memory POST /signup/start, no user lookup" memory /signup/start form 202 no --Completion=NoUserLookup
scenario redis-start-nolookup "(d) Redis POST /signup/start, no user lookup"     redis  /signup/start form 202 no --Completion=NoUserLookup
scenario identity     "(4) Identity POST /identity/register"        identity /identity/register form   200              no

echo
echo "## HTTP load results"
echo
echo "- started $START_TIME, commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- src benchmarks/OtpVerification.LoadHost benchmarks/http-load benchmarks/http-load.sh 2>/dev/null || echo ' (with uncommitted changes)')"
echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM; wrk and the server share these CPUs"
echo "- wrk -t$THREADS -c$CONNECTIONS -d$DURATION --timeout 30s (after a $WARMUP warm-up), same Lua script for every scenario; verify pool $POOL"
echo "- ratios: $( [[ "$PAIRED" == "1" ]] && echo "each row to the baseline run just before it (PAIRED=1)" || echo "every row to the one baseline at the start (PAIRED=0)")"
echo "- server: fresh 'dotnet OtpVerification.LoadHost.dll' per scenario, Release, $GC_MODE (Web SDK default), logging Warning, no-op sender; .NET $(dotnet --version)"
echo "- CPU/req = server utime+stime delta over the measured run (from idle to idle) / requests the server received in it; KiB allocated/req = GC.GetTotalAllocatedBytes delta over the same interval / the same requests"
echo "- redis-server CPU/req: the same for redis-server (Redis scenarios); wrk cores = wrk's CPU time / interval; other cores = machine busy time - server - redis-server - wrk, / interval (noise from other processes; > 0.10 is flagged)"
echo
echo "| scenario | requests | req/s | p50 ms | p99 ms | server CPU µs/req | server KiB allocated/req | redis-server CPU µs/req | req/s vs its baseline | server CPU vs its baseline | user rows after | wrk cores | other cores | statuses (warm-up + run) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
printf '%s\n' "${ROWS[@]}"
echo
if [[ -n "${CPU[mem-start]:-}" && -n "${CPU[redis-start]:-}" && -n "${CPU[identity]:-}" ]]; then
  awk -v s="${CPU[mem-start]}" -v r="${CPU[redis-start]}" -v rr="${REDISCPU[redis-start]}" -v i="${CPU[identity]}" 'BEGIN {
    printf "CPU per request, Identity /register ÷ start: in-memory %.0f×, Redis %.0f× (server + redis-server CPU; target ≥ 50×)\n", i / s, i / (r + rr) }'
  echo "User rows in the user database after the run: in-memory start ${USERS[mem-start]}, Redis start ${USERS[redis-start]} (the OTP flow writes none before verify); Identity /register ${USERS[identity]} (every registration the server completed, warm-up included)."
fi
# The issues' targets (16 and 14), each as measured here: req/s ratio to the baseline, or CPU ratio to Identity.
target() { # scenario label minimum
  [[ -n "${RATIO[$1]:-}" ]] || return 0
  awk -v r="${RATIO[$1]}" -v m="$3" -v l="$2" 'BEGIN { printf "| %s | %.2f× | ≥ %.2f× | %s |\n", l, r, m, (r >= m ? "met" : "MISSED") }'
}
echo
echo "| target (req/s vs the baseline$( [[ "$PAIRED" == "1" ]] && echo ' run just before it')) | measured | target | |"
echo "| --- | ---: | ---: | --- |"
target mem-start "in-memory start, Identity completion (issue 16)" 0.5
target mem-start-app "in-memory start, library only (issue 16)" 0.7
target mem-verify "in-memory wrong-code verify (issue 16)" 0.85
target mem-start-limited "in-memory rate-limited start (issue 16)" 0.7
target redis-start "Redis start, Identity completion (issue 16)" 0.4
target redis-start-app "Redis start, library only (issue 14)" 0.5
target redis-verify "Redis wrong-code verify (issue 14)" 0.7
target redis-start-limited "Redis rate-limited start" 0.7
if [[ -n "${CPU[mem-start]:-}" && -n "${CPU[identity]:-}" ]]; then
  awk -v s="${CPU[mem-start]}" -v i="${CPU[identity]}" 'BEGIN { printf "| server CPU per in-memory start ÷ Identity /register (issue 16) | 1/%.0f | ≤ 1/1000 | %s |\n", i / s, (i / s >= 1000 ? "met" : "MISSED") }'
fi
# What the floors allow the Redis scenarios on this machine: the in-memory scenario's time per
# request plus what the floor's Redis round trips add to the bare endpoint's (times add up per
# request, so 1/bound = 1/in-memory + 1/floor - 1, all as ratios to the baseline). A model, not a
# measurement: it assumes the store's scripts cost Redis nothing beyond the floor's one-key write.
bound() { # label redis-scenario floor-scenario in-memory-scenario target
  [[ -n "${RATIO[$2]:-}" && -n "${RATIO[$3]:-}" && -n "${RATIO[$4]:-}" ]] || return 0
  awk -v rr="${RATIO[$2]}" -v fr="${RATIO[$3]}" -v mr="${RATIO[$4]}" -v t="$5" -v l="$1" 'BEGIN {
    bd = 1 / (1 / mr + 1 / fr - 1)
    printf "| %s | %.2f× | %.2f× | %.2f× | %.2f× | ≥ %.2f× | %.2f× |\n", l, rr, fr, mr, bd, t, rr / fr }'
}
if [[ -n "${RATIO[floor-mem]:-}" ]]; then
  echo
  echo "| in-memory scenario | measured | floor: 281 B kept per request | measured ÷ floor | target |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  for pair in "mem-start:start, Identity completion:0.5" "mem-start-app:start, library only:0.7"; do
    IFS=: read -r sc label tg <<<"$pair"
    [[ -n "${RATIO[$sc]:-}" ]] || continue
    awk -v r="${RATIO[$sc]}" -v f="${RATIO[floor-mem]}" -v l="$label" -v t="$tg" 'BEGIN { printf "| %s | %.2f× | %.2f× | %.2f× | ≥ %.2f× |\n", l, r, f, r / f, t }'
  done
fi
if [[ -n "${RATIO[floor-redis1]:-}${RATIO[floor-redis2]:-}" ]]; then
  echo
  echo "| Redis scenario | measured | its floor | the in-memory scenario | bound: in-memory + the floor's round trips | target | measured ÷ floor |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  bound "start, library only (floor: two scripts)" redis-start-app floor-redis2 mem-start-app 0.5
  bound "start, Identity completion (floor: two scripts)" redis-start floor-redis2 mem-start 0.4
  bound "wrong-code verify (floor: one script)" redis-verify floor-redis1 mem-verify 0.7
fi
echo
for note in "${NOTES[@]}"; do echo "$note"; done
if [[ $FAILED -ne 0 ]]; then
  echo
  echo "!!! SOME RESPONSES WERE NOT THE EXPECTED ONES: the figures above are not valid." >&2
  exit 1
fi
