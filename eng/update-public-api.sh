#!/usr/bin/env bash
# Records the current public API of every package in its PublicAPI.Unshipped.txt: builds each src/
# project, takes every symbol the Public API analyzer reports as undeclared (RS0016) and adds it.
# Run it after a deliberate public change, and review the diff: that diff is the API change.
set -euo pipefail
cd "$(dirname "$0")/.."
for project in src/*/*.csproj; do
  dir=$(dirname "$project")
  for attempt in 1 2 3; do
    log=$(dotnet build "$project" -c Release -p:TreatWarningsAsErrors=false --no-incremental 2>&1 || true)
    symbols=$(printf '%s\n' "$log" | grep -F "[$PWD/$project]" | grep -o "RS0016: Symbol '.*' is not part of the declared public API" | sed -E "s/^RS0016: Symbol '(.*)' is not part of the declared public API$/\1/" | sort -u || true)
    [ -z "$symbols" ] && break
    { cat "$dir/PublicAPI.Unshipped.txt"; printf '%s\n' "$symbols"; } | grep -v '^#nullable enable$' | sort -u > "$dir/PublicAPI.Unshipped.tmp"
    { echo '#nullable enable'; cat "$dir/PublicAPI.Unshipped.tmp"; } > "$dir/PublicAPI.Unshipped.txt"
    rm "$dir/PublicAPI.Unshipped.tmp"
  done
  echo "$dir: $(grep -vc '^#nullable enable$' "$dir/PublicAPI.Unshipped.txt") public symbols recorded"
done
