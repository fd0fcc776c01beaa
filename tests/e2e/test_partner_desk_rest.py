"""The partner desk through the real assistant over REST, with staff tokens: the same actions
Slack and Teams reach (their channels are tested in their own modules)."""
import time
import uuid

import pytest
import requests

from bot.identity import issue_staff_token, issue_token
from tests.e2e.conftest import VIANET_PORT
from tests.partner.helpers import PartnerCenterAdmin
from tests.conftest import TEST_SECRET

pytestmark = pytest.mark.e2e


@pytest.fixture()
def desk(stack, monkeypatch):
    monkeypatch.setenv("BOT_TOKEN_SECRET", TEST_SECRET)
    sender = f"e2e-staff-{uuid.uuid4().hex[:8]}"

    def send(message: str, name: str = "Mei Chen", role: str = "billing_admin") -> str:
        token = issue_staff_token("P-01", name, role=role)
        response = requests.post(stack.rest_url, json={"sender": sender, "message": message,
                                                       "metadata": {"partner_token": token}}, timeout=60)
        response.raise_for_status()
        return "\n".join(r.get("text", "") for r in response.json())

    return send


def text_of(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def test_an_admin_asks_the_days_questions(desk):
    overdue = desk("which customers are overdue?")
    assert "Fabrikam Inc (C-1002): CNY 24,380.00 overdue" in overdue and "Suspended since November 15, 2026" in overdue
    account = desk("show me contoso's invoices")
    assert "Contoso Ltd (C-1001): CNY 9,615.50 outstanding, none of it overdue." in account and "G000100001" in account
    owed = desk("how much do we owe 21Vianet?")
    assert "owes 21Vianet CNY 48,200.00" in owed and "PV-2026-10" in owed


def wait_for(condition, timeout=45.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def test_reactivating_then_suspending_reaches_partner_center_once_each_and_the_customer_sees_it(
        desk, chat, fabrikam_restored):
    partner_center = PartnerCenterAdmin(f"http://127.0.0.1:{VIANET_PORT}")
    before = partner_center.subscription("C-1002")
    assert before["status"] == "suspended"
    # Against the policy (still overdue): the admin must say why, then confirm.
    asked = desk("reactivate Fabrikam")
    assert "still has CNY 24,380.00 overdue" in asked
    confirm = desk("they paid by wire this morning, remittance attached")
    assert "Reactivate Fabrikam Inc (C-1002)'s Azure plan?" in confirm
    partner_center.fault("error_500", count=1, method="PATCH")  # Partner Center fails at first
    done = desk("yes")
    assert "Recorded as SC-" in done and "requested by Mei Chen" in done
    assert wait_for(lambda: partner_center.subscription("C-1002")["status"] == "active")
    assert partner_center.subscription("C-1002")["status_changes"] == before["status_changes"] + 1
    # The customer's next conversation tells the new state.
    assert "(Azure plan) is active, not suspended" in text_of(chat("is my subscription suspended?",
                                                                   token=issue_token("C-1002")))
    # Overdue, so the policy calls for a suspension: no reason asked, only a confirmation.
    confirm = desk("suspend fabrikam for non-payment")
    assert "Suspend Fabrikam Inc (C-1002)'s Azure plan?" in confirm and "non-payment" in confirm
    partner_center.fault("throttle", count=1, method="PATCH", retry_after=1)
    desk("yes")
    assert wait_for(lambda: partner_center.subscription("C-1002")["status"] == "suspended")
    time.sleep(2)  # a second PATCH would land within the worker's next passes
    assert partner_center.subscription("C-1002")["status_changes"] == before["status_changes"] + 2
    log = desk("who suspended Fabrikam?")
    assert "Mei Chen asked to suspend Fabrikam Inc" in log and "Partner Center suspended Fabrikam Inc" in log
    assert "Mei Chen asked to reactivate Fabrikam Inc" in log


def test_read_only_staff_are_refused_a_suspension(desk):
    refused = desk("suspend Contoso", name="Li Wei", role="read_only")
    assert "read-only" in refused and "Recorded" not in refused
