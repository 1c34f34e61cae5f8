#!/usr/bin/env bash
# Container stage of CI. Validates the Kubernetes manifests, builds the Dockerfile with Docker's legacy builder,
# runs the image and checks it as a user would (health, models, a streamed answer through the official OpenAI
# client, JSON logs, non-root user, configuration mounts, clean stop on SIGTERM), then brings up the default
# docker-compose stack and checks one answer through it.
#
#   bash deploy/ci/container-check.sh
#
# Needs root and ../shared/tools beside the repository (start-docker.sh installs and starts the engine;
# standin-dotnet-images.sh builds offline stand-ins for the official .NET images when no registry answers).
# Containers, networks, volumes and temporary files it creates are removed on success and on failure; the images
# are kept as build cache for the next run.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tools=$repo/../shared/tools
started=$SECONDS
run=moagateway-ci-$$
image=moagateway:ci
compose=(docker-compose --project-name "$run" --file "$repo/docker-compose.yml")
work=$(mktemp -d)
offline_dir=.offline-packages
offline=$repo/$offline_dir
created_offline=false
compose_started=false
containers=()

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# The engine here has no BuildKit; say so, or a newer docker CLI tries buildx.
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0

step() { printf '\n==> %s\n' "$*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

cleanup() {
  local status=$?
  set +e
  if [ "$status" -ne 0 ]; then
    for c in "${containers[@]}"; do
      docker container inspect "$c" >/dev/null 2>&1 || continue
      echo "--- last log lines of $c" >&2
      docker logs --tail 40 "$c" >&2 2>&1
    done
    $compose_started && "${compose[@]}" logs --no-color --tail 40 >&2 2>&1
  fi
  [ ${#containers[@]} -eq 0 ] || docker rm -f "${containers[@]}" >/dev/null 2>&1
  $compose_started && "${compose[@]}" down --volumes --remove-orphans --timeout 45 >/dev/null 2>&1
  $created_offline && rm -rf "$offline"
  rm -rf "$work"
  echo "container stage: $([ "$status" -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - started)) s"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits until a container's HEALTHCHECK reports healthy; fails at once if it stops.
wait_healthy() {
  local container=$1 limit=$2 state
  local deadline=$((SECONDS + limit))
  while :; do
    state=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$container")
    case $state in
      "running healthy") return 0 ;;
      running*) ;;
      *) fail "$container stopped before it was healthy ($state)" ;;
    esac
    [ "$SECONDS" -lt "$deadline" ] || fail "$container not healthy after $limit s ($state)"
    sleep 1
  done
}

host_url() { # container: the loopback URL its port 8080 is published on
  echo "http://$(docker port "$1" 8080/tcp | head -n 1)"
}

check() { node "$repo/deploy/ci/user-checks.mjs" "$work/node" "$@"; }

step "Docker engine"
bash "$tools/start-docker.sh"

step "Base images"
sdk_image=mcr.microsoft.com/dotnet/sdk:10.0
runtime_image=mcr.microsoft.com/dotnet/aspnet:10.0
present_or_pulled() { docker image inspect "$1" >/dev/null 2>&1 || timeout 600 docker pull -q "$1" >/dev/null 2>&1; }
if present_or_pulled "$runtime_image" && present_or_pulled "$sdk_image"; then
  echo "official images: $sdk_image, $runtime_image"
else
  echo "no registry answers: building offline stand-ins"
  bash "$tools/standin-dotnet-images.sh" standin/dotnet-sdk:10.0 standin/aspnet:10.0
  sdk_image=standin/dotnet-sdk:10.0
  runtime_image=standin/aspnet:10.0
fi

step "Offline NuGet feed ($offline_dir) from the host's restore"
# NuGet over TLS fails inside containers here, so the image restores from the packages the host restored: exactly
# the gateway's package closure, copied from the global packages folder in its layout, which NuGet reads as a feed.
dotnet restore "$repo/src/MoaGateway/MoaGateway.csproj" --verbosity quiet
[ -d "$offline" ] || { mkdir "$offline"; created_offline=true; }
node -e '
  const assets = require(process.argv[1]);
  const root = Object.keys(assets.packageFolders)[0];
  for (const lib of Object.values(assets.libraries)) if (lib.type === "package") console.log(root + "\t" + lib.path);
' "$repo/src/MoaGateway/obj/project.assets.json" | while IFS=$'\t' read -r root package; do
  mkdir -p "$offline/$package"
  cp -a "$root/$package/." "$offline/$package/"
done
echo "$(find "$offline" -name '*.nupkg' | wc -l) packages, $(du -sh "$offline" | cut -f1)"

step "Client and validator packages (npm)"
mkdir "$work/node"
cp "$repo/deploy/ci/package.json" "$repo/deploy/ci/package-lock.json" "$work/node/"
(cd "$work/node" && npm ci --no-audit --no-fund --loglevel=error)

step "Kubernetes manifests"
node "$repo/deploy/ci/validate-manifests.mjs" "$repo/deploy/kubernetes" "$repo/appsettings.json" "$work/node" \
  "$work/configmap-override.json"
if command -v kubectl >/dev/null; then
  kubectl kustomize "$repo/deploy/kubernetes" >/dev/null || fail "kubectl kustomize deploy/kubernetes"
  echo "kustomization builds (kubectl kustomize)"
else
  echo "kubectl not installed: kustomization build not checked"
fi

step "docker build"
build_started=$SECONDS
docker build --quiet --tag "$image" \
  --build-arg SDK_IMAGE="$sdk_image" --build-arg RUNTIME_IMAGE="$runtime_image" --build-arg NUGET_SOURCE="$offline_dir" \
  "$repo" >/dev/null
image_mb=$(( $(docker image inspect -f '{{.Size}}' "$image") / 1000000 ))
base_mb=$(( $(docker image inspect -f '{{.Size}}' "$runtime_image") / 1000000 ))
echo "built $image in $((SECONDS - build_started)) s: $image_mb MB, $((image_mb - base_mb)) MB over $runtime_image ($base_mb MB)"
[ $((image_mb - base_mb)) -lt 150 ] || fail "the image adds $((image_mb - base_mb)) MB to its runtime base (aim: under 150 MB)"

step "docker run: simulated providers, as a user would"
# A made-up key for a provider no shipped model uses: it must never show up in the logs.
canary="sk-ci-canary-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
gateway=$run-gateway
containers+=("$gateway")
docker run --detach --name "$gateway" --publish 127.0.0.1::8080 --health-interval 2s \
  --env MoaGateway__SimulateProvidersWithoutKeys=true --env OPENAI_API_KEY="$canary" "$image" >/dev/null
wait_healthy "$gateway" 60
url=$(host_url "$gateway")
echo "healthy (HEALTHCHECK) at $url"

[ "$(curl -sS -o "$work/healthz.json" -w '%{http_code}' "$url/healthz")" = 200 ] || fail "/healthz did not answer 200"
grep -q '"status":"healthy"' "$work/healthz.json" || fail "/healthz body: $(cat "$work/healthz.json")"
echo "/healthz: 200 $(cat "$work/healthz.json")"
check models "$url" moa moa-lite
check stream "$url" moa-lite

uid=$(docker exec "$gateway" id -u)
[ "$uid" != 0 ] || fail "the gateway runs as root"
[ "$uid" = "$(docker image inspect -f '{{.Config.User}}' "$image")" ] || fail "runs as uid $uid, not the image's USER"
echo "runs as uid $uid ($(docker exec "$gateway" id -un))"

step "SIGTERM during a streamed answer"
curl -sS -N --max-time 60 "$url/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"model":"moa-lite","stream":true,"messages":[{"role":"user","content":"Count to ten."}]}' \
  >"$work/inflight.sse" 2>"$work/inflight.err" &
inflight=$!
for _ in $(seq 100); do [ -s "$work/inflight.sse" ] && break; sleep 0.1; done
[ -s "$work/inflight.sse" ] || fail "the streamed request received nothing before the stop"
stop_started=$SECONDS
docker stop --time 40 "$gateway" >/dev/null
echo "docker stop returned after $((SECONDS - stop_started)) s"
wait "$inflight" || fail "the in-flight stream broke off: $(cat "$work/inflight.err")"
grep -q '^data: \[DONE\]' "$work/inflight.sse" || fail "the in-flight stream ended without [DONE]"
exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$gateway")
[ "$exit_code" = 0 ] || fail "the gateway exited with $exit_code after SIGTERM"
docker logs "$gateway" >"$work/stdout.log" 2>"$work/stderr.log"
grep -q 'Application is shutting down' "$work/stdout.log" || fail "no orderly shutdown in the logs"
echo "in-flight stream finished with [DONE]; exit code 0; 'Application is shutting down' logged"
check json-logs "$work/stdout.log" "$work/stderr.log" "$canary"

step "docker run: mounted appsettings.json and MOAGATEWAY_CONFIG, read-only root as in Kubernetes"
# The repository's appsettings.json with one description changed, so that the answer shows which file was read.
marker="mounted-by-ci-$$"
node -e '
  const [from, to, marker] = process.argv.slice(1);
  const settings = JSON.parse(require("fs").readFileSync(from, "utf8"));
  settings.MoaGateway.Models["moa-lite"].Description = marker;
  require("fs").writeFileSync(to, JSON.stringify(settings, null, 2));
' "$repo/appsettings.json" "$work/appsettings.json" "$marker"
cat >"$work/extra.json" <<'EOF'
{ "MoaGateway": { "Models": { "moa-ci": {
  "Layers": [ { "Agents": [ { "Provider": "simulated", "Model": "a" }, { "Provider": "simulated", "Model": "b" } ] } ],
  "Aggregator": { "Provider": "simulated", "Model": "c" } } } } }
EOF
configured=$run-configured
containers+=("$configured")
docker run --detach --name "$configured" --publish 127.0.0.1::8080 --health-interval 2s \
  --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
  --volume "$work/appsettings.json:/app/appsettings.json:ro" --volume "$work/extra.json:/config/extra.json:ro" \
  --env MOAGATEWAY_CONFIG=/config/extra.json --env MoaGateway__SimulateProvidersWithoutKeys=true "$image" >/dev/null
wait_healthy "$configured" 60
url=$(host_url "$configured")
check models "$url" moa moa-lite moa-ci
check description "$url" moa-lite "$marker"
docker rm -f "$configured" >/dev/null

step "docker run check: the Kubernetes ConfigMap's file, validated as the gateway would at start-up"
docker run --rm --read-only --tmpfs /tmp --volume "$work/configmap-override.json:/config/moagateway.json:ro" \
  --env MOAGATEWAY_CONFIG=/config/moagateway.json --env MoaGateway__SimulateProvidersWithoutKeys=true \
  "$image" check >"$work/check.txt" || fail "check refused the ConfigMap's file: $(cat "$work/check.txt")"
grep -q '^The configuration is valid' "$work/check.txt" || fail "check printed no verdict: $(cat "$work/check.txt")"
head -n 1 "$work/check.txt"

step "docker-compose: the file, each profile, and the default stack"
export SDK_IMAGE=$sdk_image RUNTIME_IMAGE=$runtime_image NUGET_SOURCE=$offline_dir MOAGATEWAY_IMAGE=$image
export GATEWAY_PORT=127.0.0.1:0 GATEWAY_LOCAL_PORT=127.0.0.1:0
for profile in "" real local observability; do
  "${compose[@]}" ${profile:+--profile "$profile"} config --quiet || fail "docker-compose config${profile:+ --profile $profile}"
done
echo "docker-compose config: valid without a profile and with real, local, observability"
compose_started=true
"${compose[@]}" build --quiet
"${compose[@]}" up --detach --quiet-pull
for service in simulated-upstream gateway; do wait_healthy "$("${compose[@]}" ps -q "$service")" 90; done
url="http://$("${compose[@]}" port gateway 8080)"
# 'moagateway', not 'moagateway (simulated)': the gateway's providers are real HTTP upstreams.
check models "$url" moa moa-lite | tee "$work/compose-models.txt"
grep -q 'moa (moagateway)' "$work/compose-models.txt" || fail "moa is not served through the simulated-upstream service"
check completion "$url" moa

# The local profile's gateway with its Ollama configuration; Ollama itself cannot be pulled here.
"${compose[@]}" --profile local up --detach --no-deps gateway-local
wait_healthy "$("${compose[@]}" --profile local ps -q gateway-local)" 60
check models "http://$("${compose[@]}" --profile local port gateway-local 8080)" moa moa-lite moa-local
