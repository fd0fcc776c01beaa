#!/usr/bin/env bash
# The one command that runs the whole test suite on a fresh machine: installs what it needs
# the same way as the run command, trains the model once if needed, then runs every check.
# Exits non-zero when any check fails.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
export BOT_TODAY="${BOT_TODAY:-2026-11-25}"  # the demo data is dated around this day

scripts/setup.sh
scripts/train.sh
model=$("$PY" -m bot model-path)
mkdir -p results

echo "== rasa data validate"
"$RASA" data validate --fail-on-warnings --quiet

echo "== conversation tests (tests/stories)"
"$RASA" test core --model "$model" --stories tests/stories --fail-on-prediction-errors \
  --out results/core --quiet

echo "== NLU on the held-out sets (tests/nlu), per language"
"$RASA" test nlu --model "$model" --nlu tests/nlu/nlu_holdout.yml --out results/nlu --quiet
"$PY" tests/nlu/check_nlu_report.py results/nlu en
"$RASA" test nlu --model "$model" --nlu tests/nlu/nlu_holdout_zh.yml --out results/nlu_zh --quiet
"$PY" tests/nlu/check_nlu_report.py results/nlu_zh zh

echo "== pytest"
"$PY" -m pytest "$@"
