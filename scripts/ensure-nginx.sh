#!/usr/bin/env bash
# Prints the path of an nginx binary for the behind-a-proxy test, installing Debian's `nginx-light`
# with apt when none is present and this is a Debian/Ubuntu machine we are root on. Anything else
# exits 1 with a message saying what to install (the test is then skipped, and says why).
set -euo pipefail

log() { echo "ensure-nginx: $*" >&2; }

for c in /usr/sbin/nginx /usr/bin/nginx /usr/local/sbin/nginx /opt/homebrew/bin/nginx; do
  if [[ -x "$c" ]]; then echo "$c"; exit 0; fi
done
if p="$(command -v nginx 2>/dev/null)"; then echo "$p"; exit 0; fi

if [[ -r /etc/os-release ]] && grep -qiE '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release && command -v apt-get >/dev/null && [[ "$(id -u)" == "0" ]]; then
  log "no nginx found; installing Debian's 'nginx-light' package with apt-get (once)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq nginx-light >&2 || { apt-get update -qq >&2 && apt-get install -y -qq nginx-light >&2; }
  if [[ -x /usr/sbin/nginx ]]; then echo /usr/sbin/nginx; exit 0; fi
  log "apt-get finished but /usr/sbin/nginx is missing"
  exit 1
fi

log "no nginx found. Install it (Debian: sudo apt-get install -y nginx-light)."
exit 1
