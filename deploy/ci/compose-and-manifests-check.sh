#!/usr/bin/env bash
# The deployment files that the container tests (tests/MoaGateway.ContainerTests) do not cover: validates the
# Kubernetes manifests without a cluster, validates docker-compose.yml with each profile, brings up the default
# stack and checks one answer through it, starts the local profile's gateway to check its configuration, and brings up
# the scale profile to check that its two replicas hold a client key to one minute's limit between them.
#
#   bash deploy/ci/compose-and-manifests-check.sh
#
# Needs a running Docker engine and Node with npm. The image is built with the base images and package folder named
# by SDK_IMAGE, RUNTIME_IMAGE and NUGET_SOURCE when set, as for the container tests (.ci/run sets all three).
# Containers, networks, volumes and temporary files it creates are removed on success and on failure; the image is
# kept as build cache for the next run.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
started=$SECONDS
run=moagateway-ci-$$
compose=(docker-compose --project-name "$run" --file "$repo/docker-compose.yml")
work=$(mktemp -d)
compose_started=false

# The engine here has no BuildKit; say so, or a newer docker CLI tries buildx.
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0

step() { printf '\n==> %s\n' "$*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

cleanup() {
  local status=$?
  set +e
  if [ "$status" -ne 0 ] && $compose_started; then
    "${compose[@]}" --profile local --profile scale logs --no-color --tail 40 >&2 2>&1
  fi
  $compose_started && "${compose[@]}" --profile local --profile scale down --volumes --remove-orphans --timeout 45 >/dev/null 2>&1
  rm -rf "$work"
  echo "compose and manifest checks: $([ "$status" -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - started)) s"
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

check() { node "$repo/deploy/ci/user-checks.mjs" "$@"; }

step "Validator packages (npm)"
mkdir "$work/node"
cp "$repo/deploy/ci/package.json" "$repo/deploy/ci/package-lock.json" "$work/node/"
(cd "$work/node" && npm ci --no-audit --no-fund --loglevel=error)

step "Kubernetes manifests"
node "$repo/deploy/ci/validate-manifests.mjs" "$repo/deploy/kubernetes" "$repo/appsettings.json" "$work/node"
if command -v kubectl >/dev/null; then
  kubectl kustomize "$repo/deploy/kubernetes" >/dev/null || fail "kubectl kustomize deploy/kubernetes"
  echo "kustomization builds (kubectl kustomize)"
else
  echo "kubectl not installed: kustomization build not checked"
fi

step "docker-compose: the file, each profile, and the default stack"
export MOAGATEWAY_IMAGE=moagateway:compose-check GATEWAY_PORT=127.0.0.1:0 GATEWAY_LOCAL_PORT=127.0.0.1:0 GATEWAY_SCALE_PORT=127.0.0.1:0
for profile in "" real local observability scale; do
  "${compose[@]}" ${profile:+--profile "$profile"} config --quiet || fail "docker-compose config${profile:+ --profile $profile}"
done
echo "docker-compose config: valid without a profile and with real, local, observability, scale"
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

step "docker-compose: the scale profile, two replicas sharing a client key's limit through Redis"
scale=("${compose[@]}" --profile scale)
"${scale[@]}" build --quiet redis
"${scale[@]}" up --detach --quiet-pull gateway-scale
for service in gateway-scale-1 gateway-scale-2; do wait_healthy "$("${scale[@]}" ps -q "$service")" 90; done
url="http://$("${scale[@]}" port gateway-scale 8080)"
deadline=$((SECONDS + 30))
until curl -fsS "$url/healthz" >/dev/null 2>&1; do
  [ "$SECONDS" -lt "$deadline" ] || fail "nginx in front of the replicas does not answer"
  sleep 1
done
# The key's minute is a fixed window: start well inside one.
[ "$(date -u +%-S)" -lt 45 ] || sleep $((62 - $(date -u +%-S)))
check shared-limit "$url" sk-moa-scale-demo 10
for service in gateway-scale-1 gateway-scale-2; do
  # Into a file first: grep -q stops reading at the first match, which pipefail would count against the logs command.
  "${scale[@]}" logs --no-color "$service" >"$work/$service.log"
  grep -q '"RequestPath":"/v1/models"' "$work/$service.log" || fail "$service served none of the requests: nginx did not balance"
done
echo "both replicas served requests of the key"
