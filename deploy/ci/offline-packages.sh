#!/usr/bin/env bash
# Fills .offline-packages/ (git-ignored, not docker-ignored) with the gateway's NuGet package closure from the host's
# restore, so an image build restores without reaching NuGet (NuGet over TLS fails inside containers here). The
# packages are copied from the global packages folder in its layout, which NuGet reads as a feed; pass the folder to
# the build as NUGET_SOURCE=.offline-packages.
#   bash deploy/ci/offline-packages.sh
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
offline=$repo/.offline-packages

dotnet restore "$repo/src/MoaGateway/MoaGateway.csproj" --verbosity quiet
mkdir -p "$offline"
node -e '
  const assets = require(process.argv[1]);
  const root = Object.keys(assets.packageFolders)[0];
  for (const lib of Object.values(assets.libraries)) if (lib.type === "package") console.log(root + "\t" + lib.path);
' "$repo/src/MoaGateway/obj/project.assets.json" | while IFS=$'\t' read -r root package; do
  mkdir -p "$offline/$package"
  cp -a "$root/$package/." "$offline/$package/"
done
echo "offline NuGet feed: $(find "$offline" -name '*.nupkg' | wc -l) packages, $(du -sh "$offline" | cut -f1)"
