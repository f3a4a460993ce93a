#!/usr/bin/env bash
# `docker compose up` for real, where a Docker engine runs (.ci/run calls this; it says so and
# returns 0 where none does — tests/test_compose_topology.py runs the same files without Docker).
# Builds the image, starts compose.yaml, waits for the health checks, asks the load balancer
# for health and for every upstream's restaurants, and always takes the stack down again.
set -euo pipefail
cd "$(dirname "$0")"
if ! docker info >/dev/null 2>&1; then
  echo "docker/smoke.sh: no Docker engine here; compose not tried (the topology test ran instead)"
  exit 0
fi
trap 'docker compose -f compose.yaml down -v --remove-orphans >/dev/null 2>&1 || true' EXIT
docker compose -f compose.yaml up --build --detach --wait --wait-timeout 180
curl -fsS http://127.0.0.1:8080/healthz
body=$(curl -fsS -H 'Content-Type: application/json' \
  --data '{"query":"{ restaurants(first: 50) { nodes { upstream } } }"}' \
  http://127.0.0.1:8080/graphql)
for upstream in vardvik-berlin libro-montreal librebooking-nyc resos-nordics; do
  grep -q "\"$upstream\"" <<<"$body" || { echo "no $upstream in: $body"; exit 1; }
done
echo "docker compose: two replicas behind nginx answered for all four upstreams"
