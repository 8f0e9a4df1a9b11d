#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer: the storage contract
# suite, the kill -9 test and the multi-process tests use them. Starts each one that does not
# answer with the commands in DESIGN.md, waits until it does, and exits 1 saying which is missing.
set -euo pipefail

log() { echo "ensure-services: $*" >&2; }

pg_ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
redis_ready() { [[ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" == "PONG" ]]; }

wait_for() {
  local what=$1 check=$2
  for _ in $(seq 1 60); do
    if "$check"; then return 0; fi
    sleep 0.5
  done
  log "$what does not answer after 30 s"
  return 1
}

if ! pg_ready; then
  command -v pg_ctlcluster >/dev/null || { log "PostgreSQL is not running and pg_ctlcluster is missing (Debian: apt-get install postgresql)"; exit 1; }
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  log "PostgreSQL $version is not answering on 127.0.0.1:5432; starting it"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for PostgreSQL pg_ready
fi

if ! redis_ready; then
  command -v redis-server >/dev/null || { log "Redis is not running and redis-server is missing (Debian: apt-get install redis-server)"; exit 1; }
  log "Redis is not answering on 127.0.0.1:6379; starting it"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis redis_ready
fi
