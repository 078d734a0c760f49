#!/usr/bin/env bash
# Consumer test: installs the packages the way a user does and completes a signup over HTTP, then
# runs a console app pinned to Microsoft.Extensions.* 10.0.0 against OtpVerification.Core.
#
#   1. packs every project under src/ into a temporary local folder feed (.nupkg + .snupkg)
#      and checks each package's metadata (with OTP_FEED=<folder>, takes the packages already
#      packed there instead: the release pipeline tests the very files it pushes);
#   2. copies the app in eng/consumer/ to a new temporary folder, outside the repository, and
#      builds it against the packages BY VERSION from that feed (nuget.org for everything else),
#      with a private NUGET_PACKAGES so nothing comes from an earlier run's cache;
#   3. starts it on a free 127.0.0.1 port in Development and, with curl: starts a signup, reads the
#      code from GET /dev/outbox, checks a wrong code is refused, verifies the right one (200 and
#      a bearer token), calls an authorized endpoint with that token; then stops the app;
#   4. builds eng/consumer-console/ (a console/worker app: OtpVerification.Core, .Twilio and
#      .MailKit with Microsoft.Extensions.Hosting, .Options, .DependencyInjection, .Logging, .Http
#      pinned to 10.0.0, warnings as errors, so NU1605 fails it; no ASP.NET Core framework) and runs
#      it: start, wrong code refused, right code verified, used once, with the in-memory store; then
#      a code by SMS through the Twilio sender (a fake handler plays Twilio) verified.
#   The web app (step 2) installs every package: Core, AspNetCore, Redis, MailKit and Twilio.
#
# Prints "consumer test: PASS …" or "consumer test: FAIL …" last and exits non-zero on failure.
# Environment: OTP_VERSION (default: the repository's version), OTP_FEED (a folder of packed
# packages of that version to test instead of packing), KEEP_WORK=1 keeps the temp folder.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
started=$SECONDS
step="setup"
app_pid=""
work=""

log() { echo "== $*"; }

# Whether the app is still running (a process that exited stays a zombie until waited for).
alive() {
  local state
  state=$(ps -o stat= -p "$app_pid" 2>/dev/null) || return 1
  [[ $state != Z* ]]
}

finish() {
  local rc=$?
  if [ -n "$app_pid" ] && alive; then
    kill "$app_pid" 2>/dev/null || true
    wait "$app_pid" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ]; then
    if [ -n "$work" ] && [ -f "$work/app.log" ]; then
      echo "-- app log (last 40 lines):"
      tail -n 40 "$work/app.log" || true
    fi
    echo "consumer test: FAIL at step '$step' after $((SECONDS - started)) s${work:+ (work folder: $work)}"
  fi
  if [ -n "$work" ] && [ "${KEEP_WORK:-0}" != 1 ] && [ "$rc" -eq 0 ]; then
    rm -rf "$work"
  fi
  exit "$rc"
}
trap finish EXIT

fail() {
  echo "error: $*" >&2
  exit 1
}

# Runs a command quietly into a log file; on failure shows the log's tail.
quiet() {
  local logfile=$1
  shift
  if ! "$@" >"$logfile" 2>&1; then
    tail -n 40 "$logfile"
    fail "command failed: $*"
  fi
}

for tool in dotnet curl jq unzip; do
  command -v "$tool" >/dev/null || fail "$tool is required"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/otp-consumer.XXXXXX")
feed="$work/feed"
mkdir -p "$feed"

step="version"
version=${OTP_VERSION:-$(dotnet msbuild "$repo/src/OtpVerification.Core/OtpVerification.Core.csproj" -getProperty:Version -nologo)}
[ -n "$version" ] || fail "could not read the version from Directory.Build.props"
log "consumer test of OtpVerification $version (work folder $work)"

step="pack"
packages=()
for project in "$repo"/src/*/*.csproj; do
  name=$(basename "$project" .csproj)
  packages+=("$name")
  if [ -n "${OTP_FEED:-}" ]; then
    for ext in nupkg snupkg; do
      [ -f "$OTP_FEED/$name.$version.$ext" ] || fail "OTP_FEED=$OTP_FEED has no $name.$version.$ext"
      cp "$OTP_FEED/$name.$version.$ext" "$feed/"
    done
    log "take $name.$version from $OTP_FEED"
    continue
  fi
  log "pack $name"
  quiet "$work/pack-$name.log" dotnet pack "$project" -c Release -o "$feed" -nodeReuse:false \
    -p:Version="$version" -p:ContinuousIntegrationBuild=true
done

step="check packages"
for name in "${packages[@]}"; do
  nupkg="$feed/$name.$version.nupkg"
  [ -f "$nupkg" ] || fail "$nupkg was not produced"
  [ -f "$feed/$name.$version.snupkg" ] || fail "$name.$version.snupkg (symbols) was not produced"
  nuspec=$(unzip -p "$nupkg" "$name.nuspec")
  for expected in "<id>$name</id>" "<version>$version</version>" '<license type="expression">' \
    '<readme>README.md</readme>' '<description>' '<tags>' '<repository type="git" url="https://github.com/' 'commit="'; do
    grep -qF "$expected" <<<"$nuspec" || fail "$name.nuspec lacks $expected"
  done
  listing=$(unzip -Z1 "$nupkg")
  for file in README.md "lib/net10.0/$name.dll" "lib/net10.0/$name.xml"; do
    grep -qxF "$file" <<<"$listing" || fail "$name.nupkg lacks $file"
  done
  grep -qxF "lib/net10.0/$name.pdb" <<<"$(unzip -Z1 "$feed/$name.$version.snupkg")" || fail "$name.snupkg lacks lib/net10.0/$name.pdb"
  echo "   $name.$version.nupkg + .snupkg: metadata ok"
done

step="create app"
app="$work/app"
mkdir -p "$app"
cp "$repo"/eng/consumer/{ConsumerApp.csproj,Program.cs,Directory.Build.props,Directory.Packages.props,nuget.config} "$app/"
export NUGET_PACKAGES="$work/packages"

step="build app"
log "build a new app referencing the packages by version (private NUGET_PACKAGES)"
quiet "$work/build-app.log" dotnet build "$app/ConsumerApp.csproj" -c Release -nodeReuse:false \
  -p:OtpVerificationVersion="$version"
for name in "${packages[@]}"; do
  lower=$(tr '[:upper:]' '[:lower:]' <<<"$name")
  [ -f "$NUGET_PACKAGES/$lower/$version/$lower.$version.nupkg" ] || fail "$name $version was not restored from the feed"
done

step="start app"
log "start the app in Development on a free 127.0.0.1 port"
ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development \
  dotnet "$app/bin/Release/net10.0/ConsumerApp.dll" --urls "http://127.0.0.1:0" >"$work/app.log" 2>&1 &
app_pid=$!
base=""
for _ in $(seq 1 120); do
  base=$(grep -oE 'Now listening on: http://127\.0\.0\.1:[0-9]+' "$work/app.log" | head -n 1 | sed 's/Now listening on: //' || true)
  [ -n "$base" ] && break
  alive || fail "the app exited before listening"
  sleep 0.5
done
[ -n "$base" ] || fail "the app did not listen within 60 s"
echo "   listening on $base"

# request METHOD PATH [JSON] [extra curl args…]: sets $status and $body.
request() {
  local method=$1 path=$2 json=${3:-}
  shift 3 || shift $#
  local args=(-sS --noproxy '*' --max-time 20 -o "$work/body" -w '%{http_code}' -X "$method" "$@")
  if [ -n "$json" ]; then
    args+=(-H 'Content-Type: application/json' --data "$json")
  fi
  status=$(curl "${args[@]}" "$base$path") || fail "$method $path: no answer"
  body=$(cat "$work/body")
}

email="consumer-$RANDOM$RANDOM@example.com"

step="signup start"
request POST /signup/start "$(jq -nc --arg e "$email" '{email: $e, password: "correct horse battery"}')"
[ "$status" = 202 ] || fail "POST /signup/start answered $status: $body"
flow=$(jq -r '.flowId // empty' <<<"$body")
[ -n "$flow" ] || fail "POST /signup/start answered no flowId: $body"
echo "   POST /signup/start -> 202 with a flowId"

step="read outbox"
request GET "/dev/outbox?to=$email"
[ "$status" = 200 ] || fail "GET /dev/outbox answered $status: $body"
code=$(jq -r '.[0].body // empty' <<<"$body" | grep -oE '\b[0-9]{6}\b' | head -n 1 || true)
[ -n "$code" ] || fail "no 6-digit code in the outbox message: $body"
echo "   GET /dev/outbox -> a 6-digit code"

step="verify wrong code"
wrong="$(((${code:0:1} + 1) % 10))${code:1}"
request POST /signup/verify "$(jq -nc --arg e "$email" --arg c "$wrong" --arg f "$flow" '{email: $e, code: $c, flowId: $f}')"
[ "$status" = 400 ] || fail "a wrong code answered $status: $body"
[ "$(jq -r '.code // empty' <<<"$body")" = invalid_code ] || fail "a wrong code did not answer code=invalid_code: $body"
echo "   POST /signup/verify (wrong code) -> 400 invalid_code"

step="verify"
request POST /signup/verify "$(jq -nc --arg e "$email" --arg c "$code" --arg f "$flow" '{email: $e, code: $c, flowId: $f}')"
[ "$status" = 200 ] || fail "POST /signup/verify answered $status: $body"
[ "$(jq -r '.email // empty' <<<"$body")" = "$email" ] || fail "verify did not return the email: $body"
[ -n "$(jq -r '.userId // empty' <<<"$body")" ] || fail "verify did not return a userId: $body"
token=$(jq -r '.accessToken // empty' <<<"$body")
[ -n "$token" ] || fail "verify did not return an access token: $body"
echo "   POST /signup/verify -> 200, user created, bearer token issued"

step="signed in"
request GET /me "" -H "Authorization: Bearer $token"
[ "$status" = 200 ] || fail "GET /me with the token answered $status: $body"
[ "$(jq -r '.email // empty' <<<"$body")" = "$email" ] || fail "GET /me returned $body"
echo "   GET /me with the token -> 200"

step="stop app"
kill "$app_pid"
for _ in $(seq 1 40); do
  alive || break
  sleep 0.25
done
alive && fail "the app did not stop within 10 s"
app_rc=0
wait "$app_pid" || app_rc=$?
app_pid=""
[ "$app_rc" = 0 ] || fail "the app exited with $app_rc after SIGTERM (expected a graceful stop)"
echo "   stopped (exit code 0)"

step="console app: build"
# Restores OtpVerification.Core beside Microsoft.Extensions.* 10.0.0: a package that asks for a
# newer Microsoft.Extensions.* fails here with NU1605 (package downgrade).
log "build a console app pinned to Microsoft.Extensions.* 10.0.0 (eng/consumer-console)"
console="$work/console"
mkdir -p "$console"
cp "$repo"/eng/consumer-console/{ConsoleConsumer.csproj,Program.cs} "$console/"
cp "$repo"/eng/consumer/{Directory.Build.props,Directory.Packages.props,nuget.config} "$console/"
quiet "$work/build-console.log" dotnet build "$console/ConsoleConsumer.csproj" -c Release -nodeReuse:false \
  -p:OtpVerificationVersion="$version"
assets="$console/obj/project.assets.json"
for dependency in Microsoft.Extensions.Options Microsoft.Extensions.DependencyInjection.Abstractions Microsoft.Extensions.Logging.Abstractions; do
  resolved=$(jq -r --arg d "$dependency" '.targets["net10.0"] | keys[] | select(startswith($d + "/"))' "$assets")
  [ "$resolved" = "$dependency/10.0.0" ] || fail "the console app resolved ${resolved:-no $dependency}, expected $dependency/10.0.0"
done
for name in OtpVerification.Core OtpVerification.Twilio OtpVerification.MailKit; do
  jq -e --arg n "$name/$version" '.targets["net10.0"] | has($n)' "$assets" >/dev/null || fail "the console app did not restore $name $version"
done
frameworks=$(jq -r '[.runtimeOptions.framework.name // empty, (.runtimeOptions.frameworks // [] | .[].name)] | join(",")' "$console/bin/Release/net10.0/ConsoleConsumer.runtimeconfig.json")
[ "$frameworks" = Microsoft.NETCore.App ] || fail "the console app runs on $frameworks: a package pulled in a framework beyond Microsoft.NETCore.App (ASP.NET Core?)"
echo "   runs on Microsoft.NETCore.App alone (Core, Twilio and MailKit need no ASP.NET Core)"
echo "   restored with Microsoft.Extensions.* 10.0.0, no warning"

step="console app: run"
quiet "$work/run-console.log" dotnet "$console/bin/Release/net10.0/ConsoleConsumer.dll"
grep -E '^   (ok|FAIL) ' "$work/run-console.log" || true
grep -qx 'console consumer: PASS' "$work/run-console.log" || fail "the console app did not print PASS"

echo "consumer test: PASS (OtpVerification $version packed, installed from a local feed, signup completed over HTTP; console app on Microsoft.Extensions.* 10.0.0 verified a code; $((SECONDS - started)) s)"
