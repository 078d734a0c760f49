#!/usr/bin/env bash
# Pushes the packed packages of one version to nuget.org in dependency order: the push step of
# .github/workflows/publish.yml. With --dry-run (eng/release-dry-run.sh) it checks the same things
# and prints the push commands it would run, in order, without pushing.
#
#   bash eng/push-packages.sh [--dry-run] <folder> <version>
#
#   1. every project under src/ has its <id>.<version>.nupkg (+ .snupkg) in the folder, and the
#      folder holds no other package;
#   2. order: Core, then Redis, MailKit and Twilio, then AspNetCore; the order is
#      checked against each nuspec: a package's OtpVerification.* dependencies come before it, at
#      this very version;
#   3. for each package, nuget.org is asked whether the version exists. Absent: it is pushed. Present:
#      the published .nupkg is downloaded and its entries are compared with ours (SHA-256 of each
#      file, nuget.org's repository signature .signature.p7s left out: nuget.org adds it to every
#      package, so the whole-file hashes of a published package and of the pushed file never
#      match). Identical: nothing to push. Different: the run fails before anything is pushed (a
#      tag moved to another commit, or a version reused) — nuget.org versions cannot be replaced.
#      No --skip-duplicate: a push refused as a duplicate fails the run too.
#   4. before pushing a package whose dependency was pushed by this run, waits until nuget.org
#      serves that dependency (OTP_WAIT_SECONDS, default 1800), so nobody can restore a package
#      whose dependency is not there yet.
#
# Environment: NUGET_API_KEY (the short-lived key of NuGet/login; not needed with --dry-run),
# NUGET_SOURCE (default https://api.nuget.org/v3/index.json), NUGET_FLAT_CONTAINER (default
# https://api.nuget.org/v3-flatcontainer), OTP_WAIT_SECONDS.
set -euo pipefail

# Dependency order. A new package goes here, after the packages it depends on (step 2 checks it).
ORDER=(OtpVerification.Core OtpVerification.Redis OtpVerification.MailKit OtpVerification.Twilio OtpVerification.AspNetCore)

dry_run=false
if [ "${1:-}" = "--dry-run" ]; then dry_run=true; shift; fi
folder=${1:?usage: eng/push-packages.sh [--dry-run] <folder> <version>}
version=${2:?usage: eng/push-packages.sh [--dry-run] <folder> <version>}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source_url=${NUGET_SOURCE:-https://api.nuget.org/v3/index.json}
flat=${NUGET_FLAT_CONTAINER:-https://api.nuget.org/v3-flatcontainer}
wait_seconds=${OTP_WAIT_SECONDS:-1800}

fail() { echo "error: $*" >&2; exit 1; }
for tool in curl unzip sha256sum; do command -v "$tool" >/dev/null || fail "$tool is required"; done
$dry_run || [ -n "${NUGET_API_KEY:-}" ] || fail "NUGET_API_KEY is not set (the NuGet/login step gives it)"

work=$(mktemp -d "${TMPDIR:-/tmp}/otp-push.XXXXXX")
trap 'rm -rf "$work"' EXIT

in_order() { local x; for x in "${ORDER[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }
lower() { tr '[:upper:]' '[:lower:]' <<<"$1"; }
nupkg_url() { local id version; id=$(lower "$1"); version=$(lower "$2"); echo "$flat/$id/$version/$id.$version.nupkg"; }
nuspec_of() { unzip -p "$1" "$2.nuspec"; }

# SHA-256 of every file in a .nupkg but nuget.org's repository signature, one "hash  path" a line.
entry_hashes() {
  local dir
  dir=$(mktemp -d "$work/entries.XXXXXX")
  unzip -qq "$1" -d "$dir"
  (cd "$dir" && find . -type f ! -path ./.signature.p7s -print0 | sort -z | xargs -0 sha256sum)
}

echo "== packages of $version in $folder"
present=()
for file in "$folder"/*.nupkg; do
  [ -f "$file" ] || continue
  base=$(basename "$file")
  [[ $base == *".$version.nupkg" ]] || fail "$base is not of version $version"
  id=${base%".$version.nupkg"}
  in_order "$id" || fail "$id is not in the push order: add it to ORDER in eng/push-packages.sh, after its dependencies"
  grep -qF "<id>$id</id>" <<<"$(nuspec_of "$file" "$id")" || fail "$base does not hold the nuspec of $id"
  [ -f "$folder/$id.$version.snupkg" ] || fail "$id.$version.snupkg (symbols) is missing"
  present+=("$id")
done
for project in "$repo"/src/*/*.csproj; do
  name=$(basename "$project" .csproj)
  [ -f "$folder/$name.$version.nupkg" ] || fail "src/$name has no $name.$version.nupkg in $folder"
done
[ ${#present[@]} -gt 0 ] || fail "no package of $version in $folder"

order=()
for id in "${ORDER[@]}"; do
  for p in "${present[@]}"; do [ "$p" = "$id" ] && order+=("$id"); done
done

echo "== order: ${order[*]}"
declare -A position deps
for i in "${!order[@]}"; do position[${order[$i]}]=$i; done
for id in "${order[@]}"; do
  own=""
  while read -r dep_id dep_version; do
    [ -n "$dep_id" ] || continue
    [ -n "${position[$dep_id]:-}" ] || fail "$id depends on $dep_id, which is not among the packages pushed"
    [ "${position[$dep_id]}" -lt "${position[$id]}" ] || fail "$id depends on $dep_id but comes before it in ORDER"
    [[ $dep_version == "$version" || $dep_version == "[$version,"* || $dep_version == "[$version]" ]] \
      || fail "$id depends on $dep_id $dep_version, not on $version"
    own+="$dep_id "
  done < <(nuspec_of "$folder/$id.$version.nupkg" "$id" \
    | grep -oE '<dependency id="OtpVerification\.[^"]+" version="[^"]+"' \
    | sed -E 's/<dependency id="([^"]+)" version="([^"]+)"/\1 \2/' | sort -u)
  deps[$id]=$own
  echo "   $id${own:+ (after ${own% })}"
done

echo "== what nuget.org already has"
to_push=()
conflicts=0
for id in "${order[@]}"; do
  url=$(nupkg_url "$id" "$version")
  status=$(curl -sS -L --max-time 60 -o "$work/published.nupkg" -w '%{http_code}' "$url" 2>"$work/curl.err") || status="error"
  case $status in
    404)
      echo "   $id $version: not published -> push"
      to_push+=("$id") ;;
    200)
      if diff <(entry_hashes "$work/published.nupkg") <(entry_hashes "$folder/$id.$version.nupkg") >"$work/diff"; then
        echo "   $id $version: published, and identical to ours (every entry's SHA-256) -> nothing to push"
      else
        echo "   $id $version: published, and DIFFERENT from ours:" >&2
        sed 's/^/      /' "$work/diff" >&2
        conflicts=$((conflicts + 1))
      fi ;;
    *)
      if $dry_run; then
        echo "   $id $version: could not ask nuget.org ($status: $(head -c 200 "$work/curl.err")) -> would push"
        to_push+=("$id")
      else
        fail "could not ask nuget.org whether $id $version exists ($status): $(head -c 200 "$work/curl.err")"
      fi ;;
  esac
done
[ "$conflicts" -eq 0 ] || fail "$conflicts package(s) of $version are already on nuget.org with other contents; versions cannot be replaced: release a new version"

wait_until_served() {
  local id=$1 url deadline
  url=$(nupkg_url "$id" "$version")
  deadline=$((SECONDS + wait_seconds))
  echo "   waiting until nuget.org serves $id $version (at most $wait_seconds s)"
  until [ "$(curl -sS -L -o /dev/null -w '%{http_code}' --max-time 60 "$url" 2>/dev/null || true)" = 200 ]; do
    [ $SECONDS -lt $deadline ] || fail "$id $version was not served by nuget.org within $wait_seconds s; push the rest again later (this script skips what is published and identical)"
    sleep 20
  done
}

if $dry_run; then echo "== push (dry run: the commands that would run, in order)"; else echo "== push"; fi
[ ${#to_push[@]} -gt 0 ] || echo "   nothing to push: every package of $version is already published, identical"
declare -A pushed_now
for id in "${to_push[@]}"; do
  for dep in ${deps[$id]}; do
    if [ -n "${pushed_now[$dep]:-}" ]; then
      if $dry_run; then echo "   # wait until nuget.org serves $dep $version"; else wait_until_served "$dep"; fi
      unset "pushed_now[$dep]"
    fi
  done
  # The .snupkg beside the .nupkg is pushed with it, to the symbol server.
  echo "   dotnet nuget push $folder/$id.$version.nupkg --source $source_url --api-key \"\$NUGET_API_KEY\""
  if ! $dry_run; then
    dotnet nuget push "$folder/$id.$version.nupkg" --source "$source_url" --api-key "$NUGET_API_KEY"
  fi
  pushed_now[$id]=1
done
echo "push: $($dry_run && echo 'dry run ok' || echo 'done') (${#to_push[@]} of ${#order[@]} package(s) of $version $($dry_run && echo 'would be' || echo 'were') pushed)"
