"""The running worker applies subscription changes: in process (one pass of Worker.run_once), and
as a real process killed with SIGKILL while its PATCH is held by the stand-in, then restarted:
the change is picked up again after its lease and Partner Center's status changes exactly once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from bot.channels.deduplication import SeenEvent
from bot.db import session_scope
from bot.escalation.worker import Worker
from bot.partner.models import utcnow
from tests.escalation.helpers import wait_for
from tests.partner.helpers import CONTOSO, FABRIKAM, actions, audit, change, local_subscription, request_change

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_a_worker_pass_applies_changes_and_forgets_old_event_ids(partner_center, monkeypatch):
    monkeypatch.delenv("VIANET_API_URL", raising=False)
    monkeypatch.delenv("VIANET_API_TOKEN", raising=False)
    with session_scope() as session:
        session.add(SeenEvent(platform="slack", event_id="Ev-old", seen_at=utcnow() - timedelta(days=3)))
        session.add(SeenEvent(platform="slack", event_id="Ev-new", seen_at=utcnow()))
    reference = request_change(FABRIKAM, "active", reason="paid")

    with Worker() as worker:
        result = worker.run_once()

    assert result.subscriptions.applied == 1
    assert partner_center.subscription(FABRIKAM)["status"] == "active"
    assert local_subscription(FABRIKAM).status == "active"
    with session_scope() as session:
        assert session.get(SeenEvent, ("slack", "Ev-old")) is None
        assert session.get(SeenEvent, ("slack", "Ev-new")) is not None
    assert actions(reference)[-1] == "subscription_reactivated"


@pytest.fixture
def start_worker(partner_center, tmp_path, monkeypatch):
    """`python -m bot.escalation worker` with the test's database and Partner Center; a read
    timeout long enough that a held PATCH is still in flight when the worker is killed."""
    monkeypatch.delenv("VIANET_API_URL", raising=False)
    monkeypatch.delenv("VIANET_API_TOKEN", raising=False)
    processes: list[subprocess.Popen] = []
    log_path = tmp_path / "worker.log"

    def start() -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "RASA_TELEMETRY_ENABLED": "false",
               "ESCALATION_WORKER_INTERVAL": "0.05", "PARTNER_CENTER_TIMEOUT_READ": "5"}
        with open(log_path, "ab") as log:
            process = subprocess.Popen([sys.executable, "-m", "bot.escalation", "worker", "--log-level", "INFO"],
                                       cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    print(log_path.read_text(errors="replace"))  # shown by pytest when a test fails


def fault_taken(admin) -> bool:
    """The held PATCH has arrived: its one-shot fault is used up."""
    return requests.get(f"{admin.url}/_admin/faults", timeout=5).json()["mode"] == "none"


def kill_hard(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=5)


def restart_until_applied(start_worker, reference: str) -> None:
    worker = start_worker()
    wait_for(lambda: change(reference).state == "applied", timeout=20)  # after the dead worker's 1 s lease
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=10) == 0


def test_killed_while_its_patch_hangs_unapplied(partner_center, start_worker):
    reference = request_change(CONTOSO, "suspended")
    partner_center.fault("hang", count=1, method="PATCH")  # held, then dropped without being applied
    worker = start_worker()
    wait_for(lambda: fault_taken(partner_center), timeout=20)
    kill_hard(worker)
    held = change(reference)
    assert held.state == "pending" and held.lease_until is not None and held.attempts == 1
    partner_center.clear_faults()
    assert partner_center.subscription(CONTOSO)["status"] == "active"

    restart_until_applied(start_worker, reference)
    upstream = partner_center.subscription(CONTOSO)
    assert upstream["status"] == "suspended" and upstream["status_changes"] == 1
    assert change(reference).attempts == 2
    assert local_subscription(CONTOSO).status == "suspended"
    assert actions(reference) == ["subscription_suspend_requested", "subscription_suspended"]


def test_killed_after_partner_center_applied_it_before_recording(partner_center, start_worker):
    reference = request_change(CONTOSO, "suspended")
    partner_center.fault("slow", delay=1.0, count=1, method="PATCH")  # applied after 1 s, whoever listens
    worker = start_worker()
    wait_for(lambda: fault_taken(partner_center), timeout=20)
    kill_hard(worker)
    wait_for(lambda: partner_center.subscription(CONTOSO)["status_changes"] == 1, timeout=5)
    assert change(reference).state == "pending"

    restart_until_applied(start_worker, reference)
    upstream = partner_center.subscription(CONTOSO)
    assert upstream["status_changes"] == 1 and upstream["patch_calls"] == 1  # the restart did not PATCH
    assert audit(reference)[-1][2]["patched"] is False
