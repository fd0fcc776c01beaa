#!/usr/bin/env bash
# Install everything the assistant needs, idempotently: a Python 3.10 virtual environment at
# .venv with the exact packages of requirements.lock, the spaCy pipeline, the database schema
# and the demo data. Safe to run again: each step does nothing when already done.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

find_python310() {
  local candidates=("${PYTHON:-}" python3.10)
  if command -v pyenv >/dev/null 2>&1; then
    local v
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.|$)' | sort -V -r); do
      candidates+=("$(pyenv root)/versions/$v/bin/python3.10")
    done
  fi
  candidates+=(/usr/bin/python3.10 /usr/local/bin/python3.10 python3)
  local c
  for c in "${candidates[@]}"; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

if [ ! -x "$PY" ] || ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
  if ! PY310=$(find_python310); then
    cat >&2 <<'MSG'
Python 3.10 is required (Rasa 3.6 supports Python 3.8-3.10) and none was found.
Install one, then run this again:
  - with pyenv:  pyenv install 3.10.13
  - on Debian/Ubuntu:  apt-get install python3.10 python3.10-venv
  - or point to one:  PYTHON=/path/to/python3.10 scripts/setup.sh
MSG
    exit 1
  fi
  echo "Creating .venv with $PY310"
  rm -rf "$VENV"
  "$PY310" -m venv "$VENV"
fi

lock_sum=$(sha256sum requirements.lock | cut -d' ' -f1)
if [ "$(cat "$VENV/.installed-lock" 2>/dev/null)" != "$lock_sum" ]; then
  echo "Installing pinned dependencies (requirements.lock)..."
  "$PY" -m pip install --quiet --disable-pip-version-check "pip<24.1"
  "$PY" -m pip install --quiet --disable-pip-version-check -r requirements.lock
  echo "$lock_sum" > "$VENV/.installed-lock"
fi
# The repo root is importable from the venv (actions import `bot`), and activating the venv
# turns Rasa's telemetry off for hand-typed `rasa ...` commands too.
site=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$REPO_ROOT" > "$site/billing_helpdesk.pth"
grep -q RASA_TELEMETRY_ENABLED "$VENV/bin/activate" || \
  printf '\n# billing help desk: never send telemetry\nexport RASA_TELEMETRY_ENABLED=false\nexport TF_CPP_MIN_LOG_LEVEL=2\n' >> "$VENV/bin/activate"

"$PY" -m bot.nlp.build
# var/ holds the databases and logs: its owner's only, files from before this rule included.
mkdir -p var && chmod -R u=rwX,go= var
"$PY" -m bot migrate
"$PY" -m bot seed

# The chat widget of the demo partner site: deep-chat and socket.io-client from the npm registry,
# exactly as pinned by its package-lock.json (`npm ci`), served from node_modules (no CDN).
widget=devservers/partner_site/widget
if ! cmp -s "$widget/package-lock.json" "$widget/node_modules/.installed-lock" 2>/dev/null; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm is required for the chat widget: install Node.js (Debian: apt-get install nodejs npm)" >&2
    exit 1
  fi
  echo "Installing the chat widget (npm ci)..."
  (cd "$widget" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$widget/package-lock.json" "$widget/node_modules/.installed-lock"
fi

# Debian packages: chromium for the browser tests (Playwright drives it; it never downloads a
# browser), DejaVu and Droid Sans Fallback fonts for Chinese pages and invoice PDFs.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
[ -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ] || missing+=(fonts-droid-fallback)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian packages: ${missing[*]}..."
    (umask 022; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null)
  else
    echo "Missing Debian packages: ${missing[*]} (as root: apt-get install ${missing[*]})" >&2
  fi
fi
