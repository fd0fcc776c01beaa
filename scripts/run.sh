#!/usr/bin/env bash
# The one command that runs the whole assistant: install, build, migrate, seed, train if
# needed, start every process, wait until they answer. Ctrl-C stops them all.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
scripts/setup.sh
scripts/train.sh
exec "$PY" -m bot.launcher
