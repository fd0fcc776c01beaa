"""Partner staff report a customer's problem to 21Vianet (partner_escalate)."""
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.partner import ActionSubmitPartnerEscalation, ValidatePartnerEscalationForm
from bot.db import session_scope
from bot.escalation.models import Escalation
from bot.identity import issue_staff_token
from tests.conftest import make_tracker, texts, verified_metadata


def staff_tracker(text, token, slots=None, intent="partner_escalate"):
    base = make_tracker(text, intent=intent, slots=slots)
    state = base.current_state()
    state["latest_message"]["metadata"] = verified_metadata(partner_token=token) if token else {}
    return Tracker.from_dict(state)


async def run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def filed():
    with session_scope() as s:
        return [(e.customer_id, e.kind, e.route, e.filed_by) for e in s.scalars(select(Escalation))]


async def test_customer_named_in_the_request_is_found(db_url):
    token = issue_staff_token("P-01", "Mei Chen")
    _, slots = await run(ValidatePartnerEscalationForm(),
                         staff_tracker("report this problem to 21Vianet on behalf of Fabrikam", token))
    assert slots == {"partner_customer": "C-1002"}


async def test_unknown_customer_lists_the_partners_own(db_url):
    token = issue_staff_token("P-01", "Mei Chen")
    messages, slots = await run(ValidatePartnerEscalationForm(), staff_tracker(
        "Wingtip", token, intent="inform", slots={"requested_slot": "partner_customer"}))
    assert "Fabrikam Inc (C-1002)" in texts(messages) and "partner_customer" not in slots


async def test_customer_token_cannot_escalate_as_staff(token_for):
    base = make_tracker("report to 21Vianet on behalf of Fabrikam", intent="partner_escalate", token=token_for("C-1001"))
    messages, slots = await run(ValidatePartnerEscalationForm(), base)
    assert messages[0]["response"] == "utter_staff_only" and slots["requested_slot"] is None


async def test_confirmed_report_is_filed_once_for_the_staff_member(db_url):
    token = issue_staff_token("P-01", "Mei Chen")
    slots = {"partner_customer": "C-1002", "partner_problem": "suspended though they paid by wire on Nov 20",
             "partner_confirmed": True}
    messages, _ = await run(ActionSubmitPartnerEscalation(), staff_tracker("yes", token, slots=slots, intent="affirm"))
    assert "Filed as ESC-" in texts(messages)
    again, _ = await run(ActionSubmitPartnerEscalation(), staff_tracker("yes", token, slots=slots, intent="affirm"))
    assert "already reported" in texts(again)
    assert filed() == [("C-1002", "partner_report", "vianet", "partner:Mei Chen")]


async def test_another_partners_staff_cannot_file_for_this_customer(db_url):
    token = issue_staff_token("P-99", "Intruder")
    slots = {"partner_customer": "C-1002", "partner_problem": "x", "partner_confirmed": True}
    await run(ActionSubmitPartnerEscalation(), staff_tracker("yes", token, slots=slots, intent="affirm"))
    assert filed() == []


async def test_a_declined_report_files_nothing(db_url):
    token = issue_staff_token("P-01", "Mei Chen")
    slots = {"partner_customer": "C-1002", "partner_problem": "suspended though they paid", "partner_confirmed": False}
    messages, _ = await run(ActionSubmitPartnerEscalation(), staff_tracker("no", token, slots=slots, intent="deny"))
    assert filed() == []
    assert [m.get("response") for m in messages] == ["utter_staff.not_filed"]
