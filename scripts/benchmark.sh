#!/usr/bin/env bash
# Benchmark the assistant over REST on a large synthetic database (not a test: prints figures).
# Installs and trains like the run command, then runs scripts/benchmark.py with these arguments:
#   scripts/benchmark.sh            5000 customers x 200 invoices (a million; seeded once, kept in var/)
#   scripts/benchmark.sh --small    a quick smoke run (200 x 20)
#   scripts/benchmark.sh --help     every option
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
scripts/setup.sh
scripts/train.sh
exec "$PY" scripts/benchmark.py "$@"
