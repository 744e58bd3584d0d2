#!/usr/bin/env bash
# Everything the test suite needs: Python packages, and Debian's Chromium for the browser tests
# (Playwright drives it; Playwright's own browser download is not used).
set -euo pipefail
cd "$(dirname "$0")/.."
pip install -r requirements-test.txt
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi
