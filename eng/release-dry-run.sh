#!/usr/bin/env bash
# A local rehearsal of .github/workflows/publish.yml, without act and without pushing: the same
# steps in the same order, stopping at the first that fails, and the push commands printed.
#
#   bash eng/release-dry-run.sh [version]        (default: VersionPrefix of Directory.Build.props)
#
#   1. gate          the version is <major>.<minor>.<patch>[-prerelease] and matches VersionPrefix;
#                    HEAD is on main (an ancestor of origin/main, else of the local main branch);
#                    the work tree is clean (what is tagged is what was tested)
#   2. test          the full test run: bash .ci/run (what ci.yml and publish.yml run)
#   3. pack          bash eng/pack.sh into artifacts/release/<version>/ (a new folder)
#   4. consumer test bash eng/consumer-test.sh on those very files (OTP_FEED)
#   5. push          bash eng/push-packages.sh --dry-run: checks the order and what nuget.org
#                    already has, and prints the push commands, in order
#
# Environment: SKIP_TESTS=1 skips step 2 (say so when you report the result: the real pipeline
# never skips it); ALLOW_DIRTY=1 lets a work tree with changes, ALLOW_OFF_MAIN=1 a commit not on
# main (a branch before its merge) through step 1, marked in the output; publish.yml allows neither.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
started=$SECONDS
done_steps=()

step() { echo; echo "=== [$1/5] $2"; }
fail() { echo "release dry run: FAIL at $*" >&2; exit 1; }

prefix=$(dotnet msbuild src/OtpVerification.Core/OtpVerification.Core.csproj -getProperty:VersionPrefix -nologo)
version=${1:-$prefix}

step 1 "gate: version $version, commit $(git rev-parse --short HEAD) (must be on main)"
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || fail "gate: $version is not <major>.<minor>.<patch>[-prerelease]"
[ "${version%%-*}" = "$prefix" ] || fail "gate: $version does not match VersionPrefix $prefix in Directory.Build.props"
echo "   version $version matches VersionPrefix $prefix"
main_ref=""
for ref in refs/remotes/origin/main refs/heads/main; do
  if git rev-parse -q --verify "$ref" >/dev/null; then main_ref=$ref; break; fi
done
[ -n "$main_ref" ] || fail "gate: neither origin/main nor main exists here"
if git merge-base --is-ancestor HEAD "$main_ref"; then
  echo "   HEAD is on ${main_ref#refs/*/}"
elif [ "${ALLOW_OFF_MAIN:-0}" = 1 ]; then
  echo "   WARNING: HEAD ($(git rev-parse --short HEAD)) is not on ${main_ref#refs/*/} (ALLOW_OFF_MAIN=1): publish.yml would stop here"
else
  fail "gate: HEAD ($(git rev-parse --short HEAD)) is not on ${main_ref#refs/*/}: publish.yml releases only commits of main (ALLOW_OFF_MAIN=1 rehearses a branch anyway)"
fi
if [ -n "$(git status --porcelain)" ]; then
  [ "${ALLOW_DIRTY:-0}" = 1 ] || fail "gate: the work tree has changes (commit them, or ALLOW_DIRTY=1 to rehearse anyway)"
  echo "   WARNING: the work tree has changes (ALLOW_DIRTY=1): the packages are not exactly those of a commit"
fi
done_steps+=(gate)

step 2 "test: bash .ci/run"
if [ "${SKIP_TESTS:-0}" = 1 ]; then
  echo "   SKIPPED (SKIP_TESTS=1): publish.yml never skips it"
  done_steps+=("test SKIPPED")
else
  bash .ci/run || fail "test"
  done_steps+=(test)
fi

step 3 "pack"
packages="artifacts/release/$version"
rm -rf "$packages"
mkdir -p artifacts
bash eng/pack.sh "$version" "$packages" >"artifacts/release-pack-$version.log" 2>&1 \
  || { tail -n 30 "artifacts/release-pack-$version.log"; fail "pack"; }
(cd "$packages" && sha256sum -- *.nupkg *.snupkg | tee SHA256SUMS | sed 's/^/   /')
done_steps+=(pack)

step 4 "consumer test of the packed files"
OTP_VERSION="$version" OTP_FEED="$repo/$packages" bash eng/consumer-test.sh || fail "consumer test"
done_steps+=("consumer test")

step 5 "push (dry run)"
bash eng/push-packages.sh --dry-run "$packages" "$version" || fail "push plan"
done_steps+=("push (printed, not run)")

echo
order=$(printf '%s -> ' "${done_steps[@]}")
echo "release dry run: PASS for $version in $((SECONDS - started)) s: ${order% -> }"
