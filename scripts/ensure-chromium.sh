#!/usr/bin/env bash
# Prints the path of a Chromium the e2e tests can drive, installing Debian's `chromium` with apt
# when none is present and this is a Debian/Ubuntu machine we are root on. Anything else stops
# with a message saying what to install or which variable to set.
set -euo pipefail

log() { echo "ensure-chromium: $*" >&2; }

if [[ -n "${CHROME_PATH:-}" ]]; then
  if [[ -x "$CHROME_PATH" ]]; then echo "$CHROME_PATH"; exit 0; fi
  log "CHROME_PATH is set to '$CHROME_PATH' but that is not an executable file"
  exit 1
fi

candidates=(
  /usr/bin/chromium /usr/bin/chromium-browser /usr/lib/chromium/chromium /snap/bin/chromium
  /usr/bin/google-chrome /usr/bin/google-chrome-stable /opt/google/chrome/chrome
  "/Applications/Chromium.app/Contents/MacOS/Chromium" "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"
)
for c in "${candidates[@]}"; do
  if [[ -x "$c" ]]; then echo "$c"; exit 0; fi
done
for name in chromium chromium-browser google-chrome google-chrome-stable; do
  if p="$(command -v "$name" 2>/dev/null)"; then echo "$p"; exit 0; fi
done

if [[ -r /etc/os-release ]] && grep -qiE '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release && command -v apt-get >/dev/null; then
  if [[ "$(id -u)" == "0" ]]; then
    log "no Chromium found; installing Debian's 'chromium' package with apt-get (a few minutes, once)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq chromium >&2
    if [[ -x /usr/bin/chromium ]]; then echo /usr/bin/chromium; exit 0; fi
    log "apt-get finished but /usr/bin/chromium is missing"
    exit 1
  fi
  log "no Chromium found. Install it with: sudo apt-get install -y chromium   (or set CHROME_PATH)"
  exit 1
fi

log "no Chromium found. Install Chromium or Google Chrome, or set CHROME_PATH to its executable."
exit 1
