"""The partner desk through the real assistant over REST, with staff tokens: the same actions
Slack and Teams reach (their channels are tested in their own modules)."""
import uuid

import pytest
import requests

from bot.identity import issue_staff_token
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


def test_an_admin_asks_the_days_questions(desk):
    overdue = desk("which customers are overdue?")
    assert "Fabrikam Inc (C-1002): CNY 24,380.00 overdue" in overdue and "Suspended since November 15, 2026" in overdue
    account = desk("show me contoso's invoices")
    assert "Contoso Ltd (C-1001): CNY 9,615.50 outstanding" in account and "G000100001" in account
    owed = desk("how much do we owe 21Vianet?")
    assert "owes 21Vianet CNY 48,200.00" in owed and "PV-2026-10" in owed


def test_reactivating_against_the_policy_asks_why_then_records_it(desk):
    asked = desk("reactivate Fabrikam")
    assert "still has CNY 24,380.00 overdue" in asked
    confirm = desk("they paid by wire this morning, remittance attached")
    assert "Reactivate Fabrikam Inc (C-1002)'s Azure plan?" in confirm
    done = desk("yes")
    assert "Recorded as SC-" in done and "requested by Mei Chen" in done
    log = desk("who reactivated Fabrikam?")
    assert "Mei Chen asked to reactivate Fabrikam Inc" in log


def test_read_only_staff_are_refused_a_suspension(desk):
    refused = desk("suspend Contoso", name="Li Wei", role="read_only")
    assert "read-only" in refused and "Recorded" not in refused
