#!/usr/bin/env bash
# Packs every project under src/ with one version into one folder (.nupkg + .snupkg): the packing
# step of the release (.github/workflows/publish.yml) and of eng/release-dry-run.sh.
#
#   bash eng/pack.sh <version> <output folder>
#
# The zip entries get the commit's time (DeterministicTimestamp), so packing the same commit twice
# gives byte-identical files (with a NuGet that knows DeterministicTimestamp; with an older one the
# contents are identical and only the entry times differ). The folder must be empty or absent: a
# package left over from another build must never be pushed with this one.
set -euo pipefail

version=${1:?usage: eng/pack.sh <version> <output folder>}
out=${2:?usage: eng/pack.sh <version> <output folder>}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [ -d "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "error: $out is not empty; pack into a new folder" >&2
  exit 1
fi
mkdir -p "$out"

DeterministicTimestamp=$(git -C "$repo" log -1 --pretty=%ct)
export DeterministicTimestamp

for project in "$repo"/src/*/*.csproj; do
  name=$(basename "$project" .csproj)
  echo "== pack $name $version"
  dotnet pack "$project" -c Release -o "$out" -nologo -p:Version="$version" -p:ContinuousIntegrationBuild=true
  for ext in nupkg snupkg; do
    [ -f "$out/$name.$version.$ext" ] || { echo "error: $name.$version.$ext was not produced" >&2; exit 1; }
  done
done

(cd "$out" && sha256sum -- *.nupkg *.snupkg)
