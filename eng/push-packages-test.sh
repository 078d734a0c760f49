#!/usr/bin/env bash
# Checks eng/push-packages.sh --dry-run against a stand-in for nuget.org: a local HTTP server on
# 127.0.0.1 serving a flat container from a temporary folder, and small stand-in packages (one per
# project under src/, version 0.0.0-test; every package but Core depends on Core).
#
#   1. nothing published: every package is planned, Core first and AspNetCore last;
#   2. Core published with the same files (and nuget.org's .signature.p7s, other zip times): skipped;
#   3. Core published with other contents: the run fails and plans no push;
#   4. a package whose dependency comes after it in the order: the run fails;
#   5. a package not in the order: the run fails;
#   6. a real push without NUGET_API_KEY: the run fails;
#   7. a real push, with a stand-in `dotnet nuget push` that publishes to the stand-in server: every
#      package is pushed once, in order, each after what it depends on is served;
#   8. the same push run again (a re-run after a failure): nothing is pushed.
#
# Prints "push-packages test: PASS (8 cases)" last; exits non-zero on a failure. Needs python3.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=0.0.0-test
work=$(mktemp -d "${TMPDIR:-/tmp}/otp-push-test.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
cases=0

# make_nupkg <file> <id> <dll content> [dependency id…] [--signed]: a minimal .nupkg.
make_nupkg() {
  python3 - "$@" <<'PY'
import sys, zipfile, time
path, pid, dll, *rest = sys.argv[1:]
signed = "--signed" in rest
deps = [d for d in rest if d != "--signed"]
version = "0.0.0-test"
dep_xml = "".join(f'<dependency id="{d}" version="{version}" exclude="Build,Analyzers" />' for d in deps)
nuspec = (f'<?xml version="1.0" encoding="utf-8"?><package><metadata><id>{pid}</id><version>{version}</version>'
          f'<dependencies><group targetFramework="net10.0">{dep_xml}</group></dependencies></metadata></package>')
stamp = time.localtime(time.time() - (86400 if signed else 0))[:6]
with zipfile.ZipFile(path, "w") as z:
    for name, data in [(f"{pid}.nuspec", nuspec), (f"lib/net10.0/{pid}.dll", dll)]:
        z.writestr(zipfile.ZipInfo(name, stamp), data)
    if signed:
        z.writestr(zipfile.ZipInfo(".signature.p7s", stamp), "repository signature")
PY
}

ids=()
for project in "$repo"/src/*/*.csproj; do ids+=("$(basename "$project" .csproj)"); done

# new_feed <folder>: a stand-in package (+ .snupkg) for every src/ project.
new_feed() {
  local folder=$1 id
  mkdir -p "$folder"
  for id in "${ids[@]}"; do
    if [ "$id" = OtpVerification.Core ]; then
      make_nupkg "$folder/$id.$version.nupkg" "$id" "dll of $id"
    else
      make_nupkg "$folder/$id.$version.nupkg" "$id" "dll of $id" OtpVerification.Core
    fi
    echo symbols >"$folder/$id.$version.snupkg"
  done
}

publish() { # publish <id> same|different: puts a signed copy of <id> on the stand-in, with our files or others
  local id=$1 lower
  lower=$(tr '[:upper:]' '[:lower:]' <<<"$id")
  mkdir -p "$work/flat/$lower/$version"
  if [ "$2" = same ]; then
    make_nupkg "$work/flat/$lower/$version/$lower.$version.nupkg" "$id" "dll of $id" --signed
  else
    make_nupkg "$work/flat/$lower/$version/$lower.$version.nupkg" "$id" "another dll" --signed
  fi
}

mkdir -p "$work/flat"
python3 -m http.server 0 --bind 127.0.0.1 --directory "$work/flat" >"$work/server.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 50); do
  port=$(grep -oE 'port [0-9]+' "$work/server.log" | head -n 1 | awk '{print $2}' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "error: the stand-in server did not start" >&2; cat "$work/server.log" >&2; exit 1; }
export NUGET_FLAT_CONTAINER="http://127.0.0.1:$port"

# check <name> <expected exit: 0|fail> <command…>; then the output is in $out.
check() {
  local name=$1 expected=$2 rc=0
  shift 2
  cases=$((cases + 1))
  out=$("$@" 2>&1) || rc=$?
  if { [ "$expected" = 0 ] && [ $rc -eq 0 ]; } || { [ "$expected" = fail ] && [ $rc -ne 0 ]; }; then
    return 0
  fi
  echo "FAIL: $name (exit $rc)"; sed 's/^/   | /' <<<"$out"
  failures=$((failures + 1))
  return 1
}
expect() { # expect <name> <grep -E pattern> [absent]
  if [ "${3:-}" = absent ]; then
    grep -qE -- "$2" <<<"$out" || return 0
  else
    grep -qE -- "$2" <<<"$out" && return 0
  fi
  echo "FAIL: $1: output ${3:+does }${3:-lacks} /$2/"; sed 's/^/   | /' <<<"$out"
  failures=$((failures + 1))
}
push_lines() { grep -oE 'dotnet nuget push [^ ]+' <<<"$out" | awk '{print $4}' | xargs -n1 basename | sed "s/\.$version\.nupkg//" | tr '\n' ' '; }

feed="$work/feed"
new_feed "$feed"

# 1. nothing published
if check "nothing published" 0 bash "$repo/eng/push-packages.sh" --dry-run "$feed" "$version"; then
  order=$(push_lines)
  [[ $order == "OtpVerification.Core "* && $order == *"OtpVerification.AspNetCore " ]] \
    || { echo "FAIL: nothing published: push order was '$order'"; failures=$((failures + 1)); }
  [ "$(wc -w <<<"$order")" = "${#ids[@]}" ] || { echo "FAIL: nothing published: ${#ids[@]} pushes expected, got '$order'"; failures=$((failures + 1)); }
fi

# 2. Core published, same files
publish OtpVerification.Core same
if check "identical version published" 0 bash "$repo/eng/push-packages.sh" --dry-run "$feed" "$version"; then
  expect "identical version published" 'OtpVerification.Core 0.0.0-test: published, and identical'
  expect "identical version published" 'push [^ ]*OtpVerification\.Core\.' absent
fi

# 3. Core published, other contents
publish OtpVerification.Core different
if check "different version published" fail bash "$repo/eng/push-packages.sh" --dry-run "$feed" "$version"; then
  expect "different version published" 'DIFFERENT'
  expect "different version published" 'dotnet nuget push' absent
fi
rm -rf "$work/flat"/*

# 4. a dependency after its dependant
bad="$work/bad-order"
new_feed "$bad"
make_nupkg "$bad/OtpVerification.Core.$version.nupkg" OtpVerification.Core "dll" OtpVerification.AspNetCore
check "dependency after its dependant" fail bash "$repo/eng/push-packages.sh" --dry-run "$bad" "$version" \
  && expect "dependency after its dependant" 'comes before it'

# 5. a package not in the order
extra="$work/extra"
new_feed "$extra"
make_nupkg "$extra/OtpVerification.Extra.$version.nupkg" OtpVerification.Extra "dll" OtpVerification.Core
echo symbols >"$extra/OtpVerification.Extra.$version.snupkg"
check "package not in the order" fail bash "$repo/eng/push-packages.sh" --dry-run "$extra" "$version" \
  && expect "package not in the order" 'not in the push order'

# 6. a real push needs the short-lived key
check "push without NUGET_API_KEY" fail env -u NUGET_API_KEY bash "$repo/eng/push-packages.sh" "$feed" "$version" \
  && expect "push without NUGET_API_KEY" 'NUGET_API_KEY is not set'

# 7. a real push through a stand-in dotnet that "publishes" to the stand-in server
mkdir -p "$work/bin"
cat >"$work/bin/dotnet" <<'STUB'
#!/usr/bin/env bash
# Stand-in for `dotnet nuget push <file> --source … --api-key …`: records the push, then serves the file.
[ "$1 $2" = "nuget push" ] || { echo "unexpected dotnet $*" >&2; exit 99; }
for arg in "$@"; do [ "$arg" = --skip-duplicate ] && { echo "--skip-duplicate is not allowed" >&2; exit 98; }; done
file=$3
base=$(basename "$file" .nupkg)
version=${base#*.*.}   # OtpVerification.<Name>.<version>
id=${base%."$version"}
lower=$(tr '[:upper:]' '[:lower:]' <<<"$id")
echo "$id" >>"$STUB_LOG"
mkdir -p "$STUB_FLAT/$lower/$version"
cp "$file" "$STUB_FLAT/$lower/$version/$lower.$version.nupkg"
STUB
chmod +x "$work/bin/dotnet"
export STUB_LOG="$work/pushes.log" STUB_FLAT="$work/flat"
: >"$STUB_LOG"
if check "real push" 0 env PATH="$work/bin:$PATH" NUGET_API_KEY=stand-in OTP_WAIT_SECONDS=30 bash "$repo/eng/push-packages.sh" "$feed" "$version"; then
  pushed=$(tr '\n' ' ' <"$STUB_LOG")
  [[ $pushed == "OtpVerification.Core "* && $pushed == *"OtpVerification.AspNetCore " && $(wc -w <<<"$pushed") == "${#ids[@]}" ]] \
    || { echo "FAIL: real push: pushed '$pushed'"; failures=$((failures + 1)); }
  expect "real push" 'waiting until nuget.org serves OtpVerification.Core'
fi

# 8. the same push again: everything is published and identical
: >"$STUB_LOG"
if check "real push again" 0 env PATH="$work/bin:$PATH" NUGET_API_KEY=stand-in bash "$repo/eng/push-packages.sh" "$feed" "$version"; then
  [ ! -s "$STUB_LOG" ] || { echo "FAIL: real push again: pushed $(tr '\n' ' ' <"$STUB_LOG")"; failures=$((failures + 1)); }
  expect "real push again" 'nothing to push'
fi

if [ $failures -eq 0 ]; then
  echo "push-packages test: PASS ($cases cases)"
else
  echo "push-packages test: FAIL ($failures problem(s) in $cases cases)"
  exit 1
fi
