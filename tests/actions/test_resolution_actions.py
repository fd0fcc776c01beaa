"""Closing the loop inside the conversation: the announcement and the customer's answer."""
from datetime import datetime, timezone

from rasa_sdk import Tracker

from actions.resolution import ActionAnnounceResolution, ActionRecordResolutionAnswer
from bot.db import session_scope
from bot.escalation import records
from bot.escalation.models import Escalation
from tests.conftest import make_tracker, run_action, texts


def resolved_escalation(conversation_id="test-conversation"):
    with session_scope() as s:
        view = records.file_escalation(s, customer_id="C-1004", kind="dispute", route="vianet",
                                       summary="Reserved instance purchase", description="never ordered",
                                       invoice_number="G000400001", conversation_id=conversation_id,
                                       dedup_key="test-dedup")
        row = s.get(Escalation, view.id)
        row.upstream_id = "SR-1"
        records.add_event(s, row.id, "upstream_note", "21Vianet support: Reserved instance reversed.")
        records.close_and_notify(s, row, resolved_by="vianet", closed_at=datetime.now(timezone.utc), detail="closed")
        return view.reference


def with_reference(tracker: Tracker, reference: str, sender: str = "test-conversation") -> Tracker:
    state = tracker.current_state()
    state["slots"]["resolution_reference"] = reference
    state["sender_id"] = sender
    return Tracker.from_dict(state)


async def test_announced_in_the_conversation_it_came_from(db_url):
    reference = resolved_escalation()
    messages, _ = await run_action(ActionAnnounceResolution(), with_reference(make_tracker("", intent="x"), reference))
    assert texts(messages) == (f"News on your dispute {reference} about invoice G000400001: 21Vianet has resolved it. "
                               "Their note: \"Reserved instance reversed.\"")


async def test_not_announced_in_another_conversation(db_url):
    reference = resolved_escalation()
    messages, events = await run_action(ActionAnnounceResolution(),
                                        with_reference(make_tracker("", intent="x"), reference, sender="someone-else"))
    assert messages == [] and events[0]["value"] is None


async def test_no_reopens_with_a_note(token_for):
    reference = resolved_escalation()
    tracker = with_reference(make_tracker("no", intent="deny", token=token_for("C-1004"),
                                          slots={"resolution_solved": False}), reference)
    messages, _ = await run_action(ActionRecordResolutionAnswer(), tracker)
    assert f"I've reopened {reference}" in texts(messages)
    with session_scope() as s:
        assert records.get_escalation(s, "C-1004", reference).state == "reopened"


async def test_yes_is_recorded(token_for):
    reference = resolved_escalation()
    tracker = with_reference(make_tracker("yes", intent="affirm", token=token_for("C-1004"),
                                          slots={"resolution_solved": True}), reference)
    messages, _ = await run_action(ActionRecordResolutionAnswer(), tracker)
    assert "Glad to hear it" in texts(messages)
    with session_scope() as s:
        (told,) = records.notifications_for_partner(s, "P-01")
        assert told.acknowledged is True and told.delivered_at is None and told.shown_at is not None
