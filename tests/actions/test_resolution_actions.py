"""Closing the loop inside the conversation: the announcement and the customer's answer."""
from datetime import datetime, timezone

from rasa_sdk import Tracker

from sqlalchemy import select

from actions.invoices import ActionShowBalance
from actions.resolution import ActionAnnounceResolution, ActionRecordResolutionAnswer
from bot.escalation.models import EscalationEvent, EscalationNote
from bot.identity import issue_push_token, issue_token
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


def with_reference(tracker: Tracker, reference: str, sender: str = "test-conversation",
                   push_token: str | None = None) -> Tracker:
    state = tracker.current_state()
    state["slots"]["resolution_reference"] = reference
    state["sender_id"] = sender
    if push_token:
        state["latest_message"]["entities"] = [{"entity": "push_token", "value": push_token}]
    return Tracker.from_dict(state)


def pushed(reference, sender="test-conversation", token_for_sender="test-conversation", reader="C-1004",
           token_reference=None):
    """The worker's push into a conversation whose last signed-in reader is `reader`."""
    tracker = make_tracker("", intent="EXTERNAL_escalation_resolved", token=issue_token(reader))
    return with_reference(tracker, reference, sender, issue_push_token(token_for_sender, token_reference or reference))


async def test_announced_in_the_conversation_it_came_from(db_url):
    reference = resolved_escalation()
    messages, events = await run_action(ActionAnnounceResolution(), pushed(reference))
    assert texts(messages) == (f"News on your dispute {reference} about invoice G000400001: 21Vianet has closed it "
                               "with this answer: \"Reserved instance reversed.\"")
    assert events == []  # the form then asks whether it is solved


async def test_a_typed_external_intent_announces_nothing(db_url):
    reference = resolved_escalation()
    forged = with_reference(make_tracker("", intent="EXTERNAL_escalation_resolved"), reference)
    messages, events = await run_action(ActionAnnounceResolution(), forged)
    assert messages == [] and {e["name"]: e["value"] for e in events}["resolution_solved"] is True


async def test_a_push_token_for_another_conversation_or_reference_announces_nothing(db_url):
    reference = resolved_escalation()
    other_conversation = pushed(reference, token_for_sender="someone-else")
    assert (await run_action(ActionAnnounceResolution(), other_conversation))[0] == []
    other_reference = pushed(reference, token_reference="ESC-OTHER1")
    assert (await run_action(ActionAnnounceResolution(), other_reference))[0] == []


async def test_not_announced_to_someone_else_signed_in_there(db_url):
    reference = resolved_escalation()
    messages, _ = await run_action(ActionAnnounceResolution(), pushed(reference, reader="C-1001"))
    assert messages == []


async def test_announced_once(token_for):
    reference = resolved_escalation()
    assert (await run_action(ActionAnnounceResolution(), pushed(reference)))[0]
    await run_action(ActionShowBalance(), make_tracker("balance", token=token_for("C-1004")))  # shown there
    assert (await run_action(ActionAnnounceResolution(), pushed(reference)))[0] == []


async def test_our_own_notes_are_never_quoted_as_21vianets(db_url):
    reference = resolved_escalation()
    with session_scope() as s:
        esc = s.scalars(select(Escalation).where(Escalation.reference == reference)).one()
        s.add(EscalationNote(escalation_id=esc.id, author="partner:P-01", text="INTERNAL: do not refund",
                             request_id="req-1", sent=True))
        records.add_event(s, esc.id, "upstream_note", "Lakeshore: INTERNAL: do not refund")
    messages, _ = await run_action(ActionAnnounceResolution(), pushed(reference))
    assert "INTERNAL" not in texts(messages) and "Reserved instance reversed." in texts(messages)


async def test_news_the_channel_could_not_push_is_shown_on_the_next_turn(token_for):
    reference = resolved_escalation()
    token = token_for("C-1004")
    messages, events = await run_action(ActionShowBalance(), make_tracker("balance", token=token))
    assert texts(messages).startswith("Your balance is CNY 7,800.00")
    assert f"News on your dispute {reference}" in texts(messages)
    assert {"event": "followup", "timestamp": None, "name": "resolution_form"} in events
    again, _ = await run_action(ActionShowBalance(), make_tracker("balance", token=token))
    assert "News on" not in texts(again)  # shown once


async def test_news_is_not_shown_in_another_conversation(token_for):
    resolved_escalation(conversation_id="the-original-chat")
    messages, _ = await run_action(ActionShowBalance(), make_tracker("balance", token=token_for("C-1004")))
    assert "News on" not in texts(messages)


async def test_no_reopens_with_a_note(token_for):
    reference = resolved_escalation()
    tracker = with_reference(make_tracker("no", intent="deny", token=token_for("C-1004"),
                                          slots={"resolution_solved": False}), reference)
    messages, _ = await run_action(ActionRecordResolutionAnswer(), tracker)
    assert f"I've reopened {reference}" in texts(messages)
    with session_scope() as s:
        assert records.get_escalation(s, "C-1004", reference).state == "reopened"
        esc = s.scalars(select(Escalation).where(Escalation.reference == reference)).one()
        reopened = [e.detail for e in s.scalars(select(EscalationEvent).where(
            EscalationEvent.escalation_id == esc.id, EscalationEvent.kind == "reopened"))]
        assert reopened == ["The customer says the problem is not solved."]


async def test_a_previous_answer_never_answers_a_new_notice(token_for):
    reference = resolved_escalation()
    tracker = make_tracker("balance", token=token_for("C-1004"), slots={"resolution_solved": False})
    _, events = await run_action(ActionShowBalance(), tracker)
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots == {"resolution_reference": reference, "resolution_solved": None}


async def test_no_news_in_the_middle_of_a_form(token_for):
    resolved_escalation()
    state = make_tracker("balance", token=token_for("C-1004")).current_state()
    state["active_loop"] = {"name": "dispute_form"}
    messages, events = await run_action(ActionShowBalance(), Tracker.from_dict(state))
    assert "News on" not in texts(messages) and events == []


async def test_old_21vianet_notes_are_not_quoted_for_a_later_resolution(db_url):
    reference = resolved_escalation()
    with session_scope() as s:
        esc = s.scalars(select(Escalation).where(Escalation.reference == reference)).one()
        records.add_event(s, esc.id, "reopened", "not solved")
        assert records.latest_upstream_note(s, esc.id) is None
        records.add_event(s, esc.id, "upstream_note", "21Vianet support: Credit note issued.")
        assert records.latest_upstream_note(s, esc.id) == "Credit note issued."


async def test_yes_is_recorded(token_for):
    reference = resolved_escalation()
    tracker = with_reference(make_tracker("yes", intent="affirm", token=token_for("C-1004"),
                                          slots={"resolution_solved": True}), reference)
    messages, _ = await run_action(ActionRecordResolutionAnswer(), tracker)
    assert "Glad to hear it" in texts(messages)
    with session_scope() as s:
        (told,) = records.notifications_for_partner(s, "P-01")
        assert told.acknowledged is True and told.shown_at is not None


async def test_not_solved_in_words_is_a_no_and_the_words_are_the_note(token_for):
    from actions.resolution import ValidateResolutionForm
    from rasa_sdk.executor import CollectingDispatcher

    reference = resolved_escalation()
    words = "the reserved instance charge is still on my bill"
    asked = make_tracker(words, intent="dispute_charge", token=token_for("C-1004"),
                         slots={"requested_slot": "resolution_solved"})
    events = await ValidateResolutionForm().run(CollectingDispatcher(), with_reference(asked, reference),
                                                {"forms": {"resolution_form": {"required_slots": ["resolution_solved"]}}})
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["resolution_solved"] is False and slots["resolution_note"] == words
    answered = with_reference(make_tracker(words, intent="dispute_charge", token=token_for("C-1004"),
                                           slots={"resolution_solved": False, "resolution_note": words}), reference)
    messages, _ = await run_action(ActionRecordResolutionAnswer(), answered)
    assert f"I've reopened {reference}" in texts(messages)
    with session_scope() as s:
        esc = s.scalars(select(Escalation).where(Escalation.reference == reference)).one()
        notes = [n.text for n in s.scalars(select(EscalationNote).where(EscalationNote.escalation_id == esc.id))]
        assert any(words in note for note in notes), notes


async def test_a_yes_in_words_is_left_to_the_intent(token_for):
    from actions.resolution import ValidateResolutionForm
    from rasa_sdk.executor import CollectingDispatcher

    asked = make_tracker("yes all good now, thanks", intent="affirm", token=token_for("C-1004"),
                         slots={"requested_slot": "resolution_solved"})
    events = await ValidateResolutionForm().run(CollectingDispatcher(), asked,
                                                {"forms": {"resolution_form": {"required_slots": ["resolution_solved"]}}})
    assert "resolution_note" not in {e.get("name") for e in events}


async def test_ticket_status_shows_21vianets_answer(token_for):
    from actions.claims import ActionShowTickets

    reference = resolved_escalation()
    status = texts((await run_action(ActionShowTickets(), make_tracker("status?", intent="ticket_status",
                                                                       token=token_for("C-1004"))))[0])
    assert f"- {reference}:" in status and "Status: closed on" in status
    assert "21Vianet's answer: \"Reserved instance reversed.\"" in status
