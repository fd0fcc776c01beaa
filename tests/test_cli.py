"""`python -m bot ...` as a person runs it, in a subprocess against a real database."""
import os
import subprocess
import sys

from bot.config import REPO_ROOT
from bot.identity import verify_token


def run_cli(*args, env):
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=REPO_ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)


def test_token_command_prints_a_valid_token(db_url):
    result = run_cli("token", "C-1001", env={})
    assert result.returncode == 0, result.stderr
    assert verify_token(result.stdout.strip()) == "C-1001"


def test_token_for_unknown_customer_is_refused(db_url):
    result = run_cli("token", "C-9999", env={})
    assert result.returncode == 2
    assert "No customer C-9999" in result.stderr
    assert result.stdout == ""


def test_seed_is_idempotent(db_url):
    first = run_cli("seed", env={})
    assert first.returncode == 0 and "already present" in first.stdout  # the fixture seeded it
    from bot.db import session_scope
    from sqlalchemy import func, select
    from bot.db.models import Invoice, Payment
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Invoice)) == 6
        assert s.scalar(select(func.count()).select_from(Payment)) == 3


def test_migrate_then_seed_a_fresh_database(tmp_path):
    env = {"BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"}
    assert run_cli("migrate", env=env).returncode == 0
    assert "rows added" in run_cli("seed", env=env).stdout
    assert "already present" in run_cli("seed", env=env).stdout
