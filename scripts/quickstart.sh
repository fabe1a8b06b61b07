#!/usr/bin/env bash
# The main job on a local default stack, from nothing: install, start dockerd (if none answers),
# Kafka and Elasticsearch, create topics and templates, start a few real containers that log,
# run shipper + processor + indexer until their lines are indexed, and show them through
# `logfleet audit search`. The stack stays up afterwards (`.venv/bin/logfleet stack down` stops it).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh
lf=.venv/bin/logfleet
eval "$($lf stack up)"
$lf setup

docker=/usr/bin/docker
tag=$(date +%s)
$docker run -d --init --name "demo-web-$tag" --label com.docker.compose.service=web local/busybox:1 sh -c '
  for i in 1 2 3 4 5; do
    echo "127.0.0.1 - - [$(date +%d/%b/%Y:%H:%M:%S) +0000] \"GET /item/$i HTTP/1.1\" 200 512 \"-\" \"curl/8.0\""
  done; sleep 1' >/dev/null
$docker run -d --init --name "demo-api-$tag" --label com.docker.compose.service=api local/busybox:1 sh -c '
  echo "{\"@timestamp\":\"$(date -u +%Y-%m-%dT%H:%M:%S).000Z\",\"log.level\":\"info\",\"message\":\"api started\",\"service.name\":\"api\"}"
  echo "level=warn msg=\"slow query\" duration_ms=812"
  echo "ERROR connection refused to db:5432" >&2; sleep 1' >/dev/null

$lf run > /tmp/logfleet-quickstart.log 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
    found=$($lf audit search --since 15m --format ndjson --limit 1000 2>/dev/null | grep -c "demo-.*-$tag" || true)
    [ "$found" -ge 8 ] && break
    sleep 1
done
echo
echo "== logfleet audit search --since 15m (lines of the demo containers) =="
$lf audit search --since 15m --limit 1000 | grep -E "^@timestamp|demo-(web|api)-$tag"
