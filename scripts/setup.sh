#!/usr/bin/env bash
# One-time set-up of a Debian/Ubuntu machine for running and testing the platform:
# Debian packages (daemons and test peers) and the npm dependencies from the lock file.
# Safe to run again; it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  coturn            # TURN relay (npm start runs it if present; e2e tests)
  redis-server      # socket.io multi-instance test
  rtpengine-daemon rtpengine-utils   # media relay for the SBC
  sip-tester        # sipp
  sipvicious        # attack tools for SBC security tests
  baresip-core      # softphones in SBC tests
  chromium          # browser end-to-end tests (never a downloaded browser)
  tcpdump sox       # captures and audio checks
  opus-tools        # opusenc/opusdec: OGG/Opus recordings (media agent format "ogg") and their tests
  openssl           # self-signed certificates for local SIP over TLS/WSS
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi
echo "setup: done"
