#!/usr/bin/env bash
# Install everything ccmon needs on a fresh Debian/Ubuntu machine, idempotently:
# system packages (Java, Maven, Prometheus, Alertmanager, kcat), the Python venv with ccmon and
# its test tools, and the Kafka broker jars (Maven Central, cached under ~/.cache/ccmon).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# --- system packages -----------------------------------------------------------------------
need=()
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v kcat >/dev/null 2>&1 || need+=(kafkacat)
command -v chromium >/dev/null 2>&1 || need+=(chromium)  # the wallboard's browser test
if [ ${#need[@]} -gt 0 ]; then
  say "apt-get install ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian starts system-wide Prometheus/Alertmanager services on install where systemd runs;
  # they would hold the ports our own local stack uses.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
    $SUDO systemctl disable --now prometheus prometheus-alertmanager prometheus-node-exporter \
      >/dev/null 2>&1 || true
  fi
fi

# --- Python --------------------------------------------------------------------------------
PY=""
for candidate in python3.11 python3.12 python3.13 python3; do
  if command -v "$candidate" >/dev/null 2>&1 \
     && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    PY="$candidate"; break
  fi
done
[ -n "$PY" ] || { echo "ccmon: error: Python 3.11+ not found; install python3.11" >&2; exit 2; }
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $PY"
  "$PY" -m venv .venv || {
    echo "ccmon: error: '$PY -m venv' failed; install python3-venv" >&2; exit 2; }
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "pip install -e .[test]"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  touch "$stamp"
fi

# --- Kafka jars ----------------------------------------------------------------------------
.venv/bin/ccmon stack fetch
