"""No token, secret or whole message body reaches a log: bot/redaction.py, in real processes."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from bot.config import REPO_ROOT
from bot.identity import issue_token
from bot.redaction import REDACTED, redact
from tests.conftest import TEST_SECRET

# Installs redaction first, then configures logging as `rasa run` does (coloredlogs, structlog),
# then logs, prints and raises with a real token.
PROGRAM = textwrap.dedent("""
    import logging, sys
    from bot.redaction import install
    install()
    import structlog
    from rasa.utils.io import configure_colored_logging
    from rasa.utils.log_utils import configure_structlog
    configure_colored_logging("INFO")
    configure_structlog(logging.INFO)
    token = sys.argv[1]
    log = logging.getLogger("rasa.core.processor")
    log.error("tracker %s", {"metadata": {"customer_token": token}})
    structlog.get_logger().error("processor.tracker", metadata={"customer_token": token})
    print("printed", token)
    sys.stdout.write(token[:20])
    sys.stdout.write(token[20:] + "\\n")
    try:
        raise ValueError(f"cannot verify {token}")
    except ValueError:
        log.exception("action failed")
    log.info("body %s", "x" * 10_000)
    print("y" * 10_000)
    print("secret", __import__("os").environ["BOT_TOKEN_SECRET"])
    raise RuntimeError(f"uncaught {token}")
""")


def run_program(token: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BOT_TOKEN_SECRET": TEST_SECRET, "RASA_TELEMETRY_ENABLED": "false",
           "BOT_LOG_LINE_MAX": "2000"}
    return subprocess.run([sys.executable, "-c", PROGRAM, token], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_real_token_is_redacted_in_logs_prints_and_tracebacks(monkeypatch):
    monkeypatch.setenv("BOT_TOKEN_SECRET", TEST_SECRET)
    token = issue_token("C-1001")
    result = run_program(token)
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "RuntimeError: uncaught [redacted]" in result.stderr, result.stderr
    for part in (token, *token.split("."), TEST_SECRET, "eyJ"):
        assert part not in output
    assert "tracker" in output and "processor.tracker" in output and "printed [redacted]" in result.stdout
    assert "[redacted]\n" in result.stdout  # the token written in two pieces
    assert "Traceback" in output and "ValueError: cannot verify [redacted]" in output
    assert "secret [redacted]" in result.stdout


def test_a_long_line_is_cut_with_a_marker(monkeypatch):
    monkeypatch.setenv("BOT_TOKEN_SECRET", TEST_SECRET)
    result = run_program(issue_token("C-1001"))
    lines = (result.stdout + result.stderr).splitlines()
    assert max(len(line) for line in lines) < 2000 + 300
    assert any("x" * 1000 in line and "[truncated 8005 characters]" in line for line in lines)
    assert any("y" * 1000 in line and "[truncated" in line for line in lines)


def test_what_is_redacted_and_what_is_not(monkeypatch):
    monkeypatch.setenv("BOT_TOKEN_SECRET", TEST_SECRET)
    monkeypatch.setenv("RASA_API_TOKEN", "rasa-api-token-1234")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "slack-signing-abcdef")
    monkeypatch.setenv("BOT_TOKEN_TTL_MINUTES", "60")
    token = issue_token("C-1002")
    header_and_payload = token.rsplit(".", 1)[0]
    assert redact(f"token {token}.") == f"token {REDACTED}."
    assert redact(f"cut {header_and_payload}") == f"cut {REDACTED}"
    assert redact("GET /status?token=rasa-api-token-1234&x=1") == f"GET /status?token={REDACTED}&x=1"
    assert redact("GET /conversations?token=abcdefgh") == f"GET /conversations?token={REDACTED}"
    assert redact("Authorization: Bearer local-dev-token") == f"Authorization: Bearer {REDACTED}"
    assert redact("signed with slack-signing-abcdef") == f"signed with {REDACTED}"
    assert redact(f"key {TEST_SECRET}") == f"key {REDACTED}"
    # Ordinary text stays, including the command that prints a token and short setting values.
    ordinary = "TOKEN=$(.venv/bin/python -m bot token C-1001) valid for 60 minutes, invoice G000100001"
    assert redact(ordinary) == ordinary
