#!/usr/bin/env bash
# Install Debian's chromium for the headless browser tests. Idempotent.
#
# The tests drive it through Python playwright (already in .venv) with
# executable_path=/usr/bin/chromium. We never run `playwright install`: that
# downloads a browser build from outside the package registries.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-browser.sh: need root or sudo to apt-get install chromium" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
[ -x /usr/bin/chromium ] || { echo "install-browser.sh: apt-get finished but /usr/bin/chromium is missing" >&2; exit 1; }
echo "chromium installed: $(/usr/bin/chromium --version 2>/dev/null)"
