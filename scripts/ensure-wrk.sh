#!/usr/bin/env bash
# Make sure wrk, the HTTP load generator `make bench` drives, is installed: on a Debian-like
# machine where we are root, install Debian's package; otherwise explain what to do and fail.
set -euo pipefail

if command -v wrk >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "No wrk: installing Debian's wrk package..."
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  exit 0
fi
echo "wrk is not installed and this script cannot install it here; install wrk 4 and retry." >&2
exit 1
