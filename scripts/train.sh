#!/usr/bin/env bash
# Train a model only when its inputs (data/, config.yml, domain.yml, spaCy patterns) changed:
# models are named after a fingerprint of those inputs (bot/model.py).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
if "$PY" -m bot model-ready; then
  echo "Model up to date: $("$PY" -m bot model-path)"
  exit 0
fi
name=$("$PY" -m bot model-name)
echo "Training model $name (the inputs changed)..."
start=$(date +%s)
"$RASA" train --out models --fixed-model-name "$name" --quiet
echo "Trained in $(( $(date +%s) - start ))s: models/$name.tar.gz"
