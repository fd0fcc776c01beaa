# Sourced by every project script: the environment every command of the project runs with.
# Billing conversations must not leave the machine: Rasa's telemetry and error reports are off.
export RASA_TELEMETRY_ENABLED=false
export TF_CPP_MIN_LOG_LEVEL=2
# Databases, logs and state files are created readable by their owner only.
umask 077
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::DeprecationWarning}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}"
VENV="$REPO_ROOT/.venv"
PY="$VENV/bin/python"
RASA="$VENV/bin/rasa"
