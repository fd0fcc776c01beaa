"""Issue 3 end to end: a dispute over REST reaches the local 21Vianet API once, is closed there,
and the customer's conversation is told; their answer is recorded."""
import re
import time

import pytest
import requests

from bot.identity import issue_token
from tests.e2e.test_rest_conversations import text_of

pytestmark = pytest.mark.e2e


def wait_for(condition, timeout=45.0, every=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s")


def test_tailspin_dispute_is_escalated_closed_and_announced(stack, chat):
    vianet = stack.env["VIANET_API_URL"]
    token = issue_token("C-1004")
    assert "Which invoice" in text_of(chat("I want to dispute a charge", token=token))
    assert "Which charge on G000400001" in text_of(chat("G000400001", token=token))
    assert "What's wrong with it?" in text_of(chat("Reserved instance purchase", token=token))
    summary = text_of(chat("we never ordered a reserved instance", token=token))
    assert "report it to 21Vianet on your behalf" in summary and "Shall I file it?" in summary
    filed = text_of(chat("yes", token=token))
    reference = re.search(r"Your reference is (ESC-\w+)", filed).group(1)

    def ours() -> list[dict]:  # other tests' tickets may be there too
        return [r for r in requests.get(f"{vianet}/_admin/stats", timeout=5).json()["requests"]
                if reference in r["Description"]]

    (service_request,) = wait_for(ours)
    assert "G000400001" in service_request["Description"]

    status = text_of(chat("what's the status of my dispute?", token=token))
    assert reference in status and "sent to 21Vianet" in status

    closed = requests.post(f"{vianet}/_admin/servicerequests/{service_request['Id']}/status",
                           json={"status": "closed", "note": "Reserved instance purchase reversed."}, timeout=5)
    assert closed.ok

    # REST cannot push: the news comes with the customer's next turn, then "is it solved?".
    def next_turn_with_news():
        reply = text_of(chat("what's the status of my dispute?", token=token))
        return reply if "News on your dispute" in reply else None

    reply = wait_for(next_turn_with_news, every=2)
    assert (f"News on your dispute {reference} about invoice G000400001: 21Vianet has closed it "
            "with this answer: \"Reserved instance purchase reversed.\"") in reply
    assert "Is the problem solved for you?" in reply
    # Not a plain "no": the customer's own words are the answer, and the note 21Vianet receives.
    words = "the reserved instance charge is still on our bill"
    assert "I've reopened" in text_of(chat(words, token=token))
    # The reopen (a note and status "open") reaches 21Vianet through the relay.
    reopened = wait_for(lambda: (r := requests.get(
        f"{vianet}/v1/servicerequests/{service_request['Id']}", timeout=5,
        headers={"Authorization": f"Bearer {stack.env['VIANET_API_TOKEN']}"}).json())["Status"] == "open" and r)
    assert any(words in str(note) for note in reopened["Notes"]), reopened["Notes"]
    assert len(ours()) == 1  # never filed twice
