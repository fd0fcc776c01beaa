"""The worker as a real process, killed at the worst moments, then restarted.

Why: "survives being killed at any point" means a kill -9 between committing the claim and
sending, and between 21Vianet creating the ticket and us recording it, must end with exactly one
service request upstream and the escalation `sent`. Kills are real (SIGKILL while a request is in
flight, held there by the server's hang/slow faults); the test hook ESCALATION_TEST_CRASH_AT
(after_claim | after_send; refused with BOT_ENV=production) makes the worker os._exit at the exact
point instead, for the two kills a signal cannot time precisely.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.escalation.models import State
from bot.escalation.relay import CRASH_EXIT_CODE
from tests.escalation.helpers import file, row, wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def start_worker(vianet, tmp_path):
    """Start `python -m bot.escalation worker` with the test's environment (database, upstream, fast
    settings); every process still running at the end is stopped."""
    processes: list[subprocess.Popen] = []
    log_path = tmp_path / "worker.log"

    def start(**extra_env: str) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "RASA_TELEMETRY_ENABLED": "false",
               "VIANET_TIMEOUT_READ": "5", **extra_env}
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot.escalation", "worker", "--log-level", "INFO"],
                cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    print(log_path.read_text(errors="replace"))  # shown by pytest when a test fails


def kill_hard(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=5)


def stop_cleanly(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def restart_and_wait_until_sent(start_worker, reference: str) -> None:
    worker = start_worker()
    # The dead worker's lease (1 s in tests) must run out before the row is claimed again.
    wait_for(lambda: row(reference).state == State.SENT, timeout=15)
    stop_cleanly(worker)


def test_killed_after_committing_the_claim_before_sending(vianet, start_worker):
    escalation = file()
    crashed = start_worker(ESCALATION_TEST_CRASH_AT="after_claim")
    assert crashed.wait(timeout=15) == CRASH_EXIT_CODE
    claimed = row(escalation.reference)
    assert claimed.state == State.SENDING and claimed.attempts == 1
    assert vianet.stats()["create_calls"] == 0

    restart_and_wait_until_sent(start_worker, escalation.reference)
    stats = vianet.stats()
    assert stats["created"] == 1 and stats["create_calls"] == 1
    assert row(escalation.reference).upstream_id == stats["requests"][0]["Id"]


def test_killed_while_the_request_hangs(vianet, start_worker):
    escalation = file()
    vianet.fault("hang")
    worker = start_worker()
    wait_for(lambda: vianet.stats()["create_calls"] == 1, timeout=15)
    kill_hard(worker)
    assert row(escalation.reference).state == State.SENDING
    vianet.clear_faults()

    restart_and_wait_until_sent(start_worker, escalation.reference)
    assert vianet.stats()["created"] == 1


def test_killed_after_the_server_created_it_before_recording(vianet, start_worker):
    escalation = file()
    vianet.fault("slow", delay=1.0, count=1)  # the server creates it after 1 s, whoever is listening
    worker = start_worker()
    wait_for(lambda: vianet.stats()["create_calls"] == 1, timeout=15)
    kill_hard(worker)
    wait_for(lambda: vianet.stats()["created"] == 1, timeout=5)
    unrecorded = row(escalation.reference)
    assert unrecorded.state == State.SENDING and unrecorded.upstream_id is None

    restart_and_wait_until_sent(start_worker, escalation.reference)
    stats = vianet.stats()
    assert stats["created"] == 1 and stats["replayed"] == 1  # the resend met the same MS-RequestId
    assert row(escalation.reference).upstream_id == stats["requests"][0]["Id"]


def test_crash_between_the_answer_and_recording_it(vianet, start_worker):
    escalation = file()
    crashed = start_worker(ESCALATION_TEST_CRASH_AT="after_send")
    assert crashed.wait(timeout=15) == CRASH_EXIT_CODE
    assert vianet.stats()["created"] == 1
    assert row(escalation.reference).state == State.SENDING

    restart_and_wait_until_sent(start_worker, escalation.reference)
    stats = vianet.stats()
    assert stats["created"] == 1 and stats["replayed"] == 1
