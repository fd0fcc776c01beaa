#!/usr/bin/env bash
# Fuzz the assistant over REST with a generated corpus (not a test: prints figures; exits 2 on any
# 5xx, empty reply, connection error, restart or leak). Installs and trains like the run command,
# then runs scripts/fuzz.py with these arguments:
#   scripts/fuzz.sh                    4000 requests (about 3 minutes), seed 2026, on its own stack (Rasa :5305)
#   scripts/fuzz.sh --requests 300     a quicker run
#   scripts/fuzz.sh --help             every option
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
scripts/setup.sh
scripts/train.sh
exec "$PY" scripts/fuzz.py "$@"
