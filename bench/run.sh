#!/usr/bin/env bash
# The benchmark (README "Benchmark"): installs gnuplot and Portkey when missing, builds the gateway, the bench upstream
# and the driver in Release, runs every scenario, and writes bench/results/<date>.{json,md,png} and bench/results/latest.md.
# Arguments go to the driver, e.g. --only "moa-lite c64" or --scale 0.1 for a quick trial.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v gnuplot >/dev/null; then
  as_root apt-get update -qq
  as_root apt-get install -y -qq gnuplot-nox >/dev/null
fi

portkey=()
if [ -f bench/node_modules/@portkey-ai/gateway/build/start-server.js ]; then
  portkey=(--portkey bench/node_modules/@portkey-ai/gateway/build/start-server.js)
elif command -v npm >/dev/null; then
  npm ci --prefix bench --no-audit --no-fund
  portkey=(--portkey bench/node_modules/@portkey-ai/gateway/build/start-server.js)
else
  echo "npm not found: the side-by-side run with Portkey is left out." >&2
fi

for project in src/MoaGateway bench/MoaGateway.Bench.Upstream bench/MoaGateway.Bench; do
  dotnet build -c Release --nologo -v quiet "$project"
done

results=bench/results
name=$(date -u +%Y-%m-%d-%H%M)
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src bench || echo '+uncommitted')
mkdir -p "$results"

# Every scenario is bounded in requests and time; this bounds the whole run as well.
timeout 1500 dotnet bench/MoaGateway.Bench/bin/Release/net10.0/MoaGateway.Bench.dll \
  --gateway src/MoaGateway/bin/Release/net10.0/MoaGateway.dll \
  --upstream bench/MoaGateway.Bench.Upstream/bin/Release/net10.0/MoaGateway.Bench.Upstream.dll \
  "${portkey[@]}" --commit "$commit" --out "$results" --name "$name" "$@"

gnuplot -e "data='$results/$name.tsv'; output='$results/$name.png'; heading='MoaGateway benchmark $name ($commit): total time of a streamed request'" \
  bench/latency.gp
rm "$results/$name.tsv"
cp "$results/$name.md" "$results/latest.md"
echo "Wrote $results/$name.json, $results/$name.md, $results/$name.png and $results/latest.md"
