#!/usr/bin/env bash
# A three-master Redis Cluster on 127.0.0.1:7001, 7002, 7003 for the BullMQ cluster tests
# (packages/bullmq/test/redis-cluster.test.ts, which reads REDIS_CLUSTER_NODES, default
# 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003). No replicas, no persistence; node configs and logs
# in $REDIS_CLUSTER_DIR (default /tmp/switchyard-redis-cluster).
#
#   bash scripts/redis-cluster.sh start    # idempotent: does nothing when the cluster answers ok
#   bash scripts/redis-cluster.sh status   # exit 0 when cluster_state:ok
#   bash scripts/redis-cluster.sh stop     # shuts the three nodes down and removes the directory
set -euo pipefail

ports=(7001 7002 7003)
dir="${REDIS_CLUSTER_DIR:-/tmp/switchyard-redis-cluster}"

nodes() { local IFS=,; echo "${ports[*]/#/127.0.0.1:}"; }
die() { echo "redis-cluster: $*" >&2; exit 1; }

need_tools() {
  local tool
  for tool in redis-server redis-cli; do
    command -v "$tool" >/dev/null 2>&1 ||
      die "$tool not found on PATH; install Redis >= 6.2 (e.g. apt-get install redis-server)"
  done
}

# `redis-cli -p PORT …` with a short timeout, silent on failure.
cli() { local port="$1"; shift; timeout 5 redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null; }
answers() { [ "$(cli "$1" ping)" = "PONG" ]; }
info_field() { cli "$1" cluster info | tr -d '\r' | sed -n "s/^$2://p"; }
# Every node answers and sees the cluster as ok (a node that just died still looks ok to the others).
cluster_ok() {
  local port
  for port in "${ports[@]}"; do [ "$(info_field "$port" cluster_state)" = "ok" ] || return 1; done
}

start_node() {
  local port="$1"
  mkdir -p "$dir/$port"
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes \
    --dir "$dir/$port" --pidfile "$dir/$port/redis.pid" --logfile "$dir/$port/redis.log" \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
    --save "" --appendonly no
  for _ in $(seq 1 50); do answers "$port" && return 0; sleep 0.1; done
  die "redis-server on 127.0.0.1:$port did not answer; see $dir/$port/redis.log"
}

start() {
  need_tools
  if cluster_ok; then
    echo "redis cluster already ok on $(nodes)"
    return 0
  fi
  local port running=0
  for port in "${ports[@]}"; do answers "$port" && running=$((running + 1)); done
  # Nothing runs: start from a clean directory (no stale nodes.conf from an earlier cluster).
  if [ "$running" -eq 0 ]; then rm -rf "$dir"; fi
  for port in "${ports[@]}"; do
    if ! answers "$port"; then
      echo "starting redis cluster node on 127.0.0.1:$port"
      start_node "$port"
    fi
    [ -n "$(info_field "$port" cluster_state)" ] ||
      die "127.0.0.1:$port answers but is not a cluster node (cluster support disabled?)"
  done
  # Create the cluster only when no node has slots yet; a restarted node rejoins from nodes.conf.
  local assigned=0
  for port in "${ports[@]}"; do
    assigned=$((assigned + $(info_field "$port" cluster_slots_assigned)))
  done
  if [ "$assigned" -eq 0 ]; then
    echo "creating redis cluster $(nodes)"
    redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 ||
      { cat "$dir/create.log" >&2; die "redis-cli --cluster create failed"; }
  fi
  for _ in $(seq 1 300); do
    if cluster_ok; then
      echo "redis cluster ok on $(nodes)"
      return 0
    fi
    sleep 0.1
  done
  cli "${ports[0]}" cluster info >&2 || true
  die "cluster_state is not ok after 30 s; try: bash scripts/redis-cluster.sh stop && bash scripts/redis-cluster.sh start"
}

stop() {
  need_tools
  local port
  for port in "${ports[@]}"; do
    if answers "$port"; then
      echo "stopping redis cluster node on 127.0.0.1:$port"
      cli "$port" shutdown nosave >/dev/null || true
    fi
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 1 50); do answers "$port" || break; sleep 0.1; done
    ! answers "$port" || die "127.0.0.1:$port still answers after shutdown"
  done
  rm -rf "$dir"
}

status() {
  need_tools
  if cluster_ok; then
    echo "redis cluster ok on $(nodes)"
    cli "${ports[0]}" cluster nodes | tr -d '\r'
    return 0
  fi
  local port
  for port in "${ports[@]}"; do
    if answers "$port"; then
      echo "127.0.0.1:$port answers, cluster_state:$(info_field "$port" cluster_state)"
    else
      echo "127.0.0.1:$port does not answer"
    fi
  done
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: bash scripts/redis-cluster.sh start|stop|status" ;;
esac
