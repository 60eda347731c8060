#!/bin/sh
# Installs Debian's Chromium for the end-to-end tests (tests/e2e drive it through playwright-core) when
# /usr/bin/chromium is missing. Uses apt only: no browser download from the internet. Needs root (as in CI).
set -eu
CHROMIUM=${QUARI_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-chromium: $CHROMIUM is missing; run as root (or: sudo apt-get install -y chromium)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium fonts-dejavu-core
if [ ! -x "$CHROMIUM" ]; then
  echo "install-chromium: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
