#!/usr/bin/env bash
# Tributary's two set-up commands (see README):
#   ./dev.sh up     install everything, then run the all-in-one node on embedded defaults
#   ./dev.sh test   install everything, then run the whole test suite
# Works on a fresh Debian 12 with Python 3.11; apt packages are installed only when missing.
set -euo pipefail
cd "$(dirname "$0")"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

system_packages() {
  local need=()
  command -v ffmpeg >/dev/null || need+=(ffmpeg)
  command -v npm >/dev/null || need+=(nodejs npm)
  python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
  if [ "${1:-}" = test ]; then
    command -v chromium >/dev/null || need+=(chromium fonts-dejavu-core)
  fi
  if [ ${#need[@]} -gt 0 ]; then
    echo "dev.sh: installing ${need[*]} from Debian"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

python_env() {
  local py
  py=$(command -v python3.11 || command -v python3)
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "dev.sh: Python 3.11 or newer is required" >&2; exit 1; }
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
}

web_packages() {
  npm ci --prefix web --no-audit --no-fund --loglevel=error
}

case "${1:-}" in
  up)
    system_packages
    python_env
    web_packages
    exec .venv/bin/tributary up
    ;;
  test)
    system_packages test
    python_env
    web_packages
    shift
    exec .venv/bin/python -m pytest "$@"
    ;;
  *)
    echo "usage: ./dev.sh up | ./dev.sh test [pytest args]" >&2
    exit 2
    ;;
esac
