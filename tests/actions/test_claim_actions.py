"""Dispute and refund forms as the action server runs them, against the seeded database."""
from sqlalchemy import select

from actions.claims import (ActionAskDisputeCharge, ActionAskDisputeConfirmed, ActionShowTickets, ActionSubmitDispute,
                            ActionSubmitRefund, ValidateDisputeForm, ValidateRefundForm)
from bot.db import session_scope
from bot.escalation.models import Escalation
from tests.conftest import entity, make_tracker, run_action, texts

DOMAIN = {"forms": {"dispute_form": {"required_slots": ["dispute_invoice", "dispute_charge", "dispute_details",
                                                        "dispute_confirmed"]},
                    "refund_form": {"required_slots": ["refund_invoice", "refund_confirmed"]}},
          "slots": {}}


async def validate(action, tracker):
    from rasa_sdk.executor import CollectingDispatcher
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, DOMAIN)
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def escalations():
    with session_scope() as s:
        rows = s.scalars(select(Escalation).order_by(Escalation.id)).all()
        s.expunge_all()
        return rows


def next_question(slots, domain_order):
    """The slot Rasa asks next: the validation action's choice, else the first empty one."""
    if "requested_slot" in slots:
        return slots["requested_slot"]
    return next(slot for slot in domain_order if slots.get(slot) is None)


TAILSPIN_SLOTS = {"dispute_invoice": "G000400001", "dispute_charge": "Reserved instance purchase",
                  "dispute_details": "we never ordered a reserved instance", "dispute_confirmed": True}


async def test_invoice_answer_is_checked_then_charge_asked(token_for):
    tracker = make_tracker("G000400001", intent="inform", entities=[entity("invoice_number", "G000400001")],
                           token=token_for("C-1004"), slots={"requested_slot": "dispute_invoice"})
    _, slots = await validate(ValidateDisputeForm(), tracker)
    assert slots["dispute_invoice"] == "G000400001"
    assert next_question(slots, DOMAIN["forms"]["dispute_form"]["required_slots"]) == "dispute_charge"


async def test_activation_message_can_fill_invoice_and_charge(token_for):
    tracker = make_tracker("I never ordered the reserved instance purchase on G000400001", intent="dispute_charge",
                           entities=[entity("invoice_number", "G000400001")], token=token_for("C-1004"))
    _, slots = await validate(ValidateDisputeForm(), tracker)
    assert slots["dispute_invoice"] == "G000400001"
    assert slots["dispute_charge"] == "Reserved instance purchase"
    # It already says what is wrong, so the next question is the confirmation.
    assert slots["dispute_details"] == "I never ordered the reserved instance purchase on G000400001"
    assert next_question(slots, DOMAIN["forms"]["dispute_form"]["required_slots"]) == "dispute_confirmed"


async def test_the_amount_identifies_the_disputed_line(token_for):
    tracker = make_tracker("I was charged CNY 4,500.00 for something we never ordered", intent="dispute_charge",
                           entities=[entity("amount", "CNY 4,500.00")], token=token_for("C-1004"),
                           slots={"dispute_invoice": "G000400001", "requested_slot": "dispute_charge"})
    _, slots = await validate(ValidateDisputeForm(), tracker)
    assert slots["dispute_charge"] == "Reserved instance purchase"


async def test_charged_twice_wins_over_the_amount(token_for):
    tracker = make_tracker("I was charged twice for the CNY 4,500.00", intent="dispute_charge",
                           entities=[entity("amount", "CNY 4,500.00")], token=token_for("C-1004"),
                           slots={"dispute_invoice": "G000400001", "requested_slot": "dispute_charge"})
    _, slots = await validate(ValidateDisputeForm(), tracker)
    assert slots["dispute_charge"] == "charged twice"


async def test_foreign_invoice_is_refused_like_a_missing_one(token_for):
    tracker = make_tracker("G000100002", intent="inform", entities=[entity("invoice_number", "G000100002")],
                           token=token_for("C-1004"), slots={"requested_slot": "dispute_invoice"})
    messages, slots = await validate(ValidateDisputeForm(), tracker)
    assert messages[0]["response"] == "utter_invoice_not_found" and slots["dispute_invoice"] is None


async def test_repeated_invalid_answers_are_explained(token_for):
    tracker = make_tracker("the blue one", intent="inform", token=token_for("C-1004"),
                           slots={"requested_slot": "dispute_invoice", "invalid_invoice_answers": 1.0})
    messages, slots = await validate(ValidateDisputeForm(), tracker)
    assert "they look like this: G followed by nine digits" in texts(messages)
    assert slots["invalid_invoice_answers"] == 2.0 and slots["dispute_invoice"] is None


async def test_a_question_in_the_middle_is_not_taken_as_the_answer(token_for):
    tracker = make_tracker("what's my balance", intent="ask_balance", token=token_for("C-1004"),
                           slots={"requested_slot": "dispute_invoice"})
    messages, slots = await validate(ValidateDisputeForm(), tracker)
    assert messages == [] and "dispute_invoice" not in slots


async def test_charge_question_offers_the_lines(token_for):
    tracker = make_tracker("", token=token_for("C-1004"), slots={"dispute_invoice": "G000400001"})
    messages, _ = await run_action(ActionAskDisputeCharge(), tracker)
    titles = [b["title"] for b in messages[0]["buttons"]]
    assert titles[:2] == ["Virtual machines (CNY 3,300.00)", "Reserved instance purchase (CNY 4,500.00)"]


async def test_summary_before_filing(token_for):
    slots = {**TAILSPIN_SLOTS, "dispute_confirmed": None}
    messages, _ = await run_action(ActionAskDisputeConfirmed(), make_tracker("", token=token_for("C-1004"), slots=slots))
    reply = texts(messages)
    assert "report it to 21Vianet on your behalf, through Lakeshore Cloud Partners" in reply
    assert ('Invoice G000400001 (October 2026), Reserved instance purchase (CNY 4,500.00): '
            '"we never ordered a reserved instance"') in reply
    assert escalations() == []  # nothing filed before the confirmation


async def test_confirmed_dispute_is_recorded_once(token_for):
    token = token_for("C-1004")
    messages, events = await run_action(ActionSubmitDispute(), make_tracker("yes", token=token, slots=TAILSPIN_SLOTS))
    (row,) = escalations()
    assert (row.customer_id, row.route, row.kind, row.invoice_number) == ("C-1004", "vianet", "dispute", "G000400001")
    assert row.conversation_id == "test-conversation"
    assert f"Done. Your reference is {row.reference}" in texts(messages)
    assert {e["name"]: e["value"] for e in events}["dispute_invoice"] is None  # the form is reset
    again, _ = await run_action(ActionSubmitDispute(), make_tracker("yes", token=token, slots=TAILSPIN_SLOTS))
    assert f"You already reported this: your reference is {row.reference}" in texts(again)
    assert len(escalations()) == 1


async def test_declined_dispute_files_nothing(token_for):
    slots = {**TAILSPIN_SLOTS, "dispute_confirmed": False}
    messages, _ = await run_action(ActionSubmitDispute(), make_tracker("no", token=token_for("C-1004"), slots=slots))
    assert messages[0]["response"] == "utter_nothing_filed" and escalations() == []


async def test_already_paid_is_answered_from_the_records(token_for):
    slots = {"dispute_invoice": "G000100001", "dispute_charge": "already paid"}
    messages, _ = await run_action(ActionSubmitDispute(), make_tracker("", token=token_for("C-1001"), slots=slots))
    assert "Our records agree that G000100001 is paid: CNY 8,240.00 on October 20, 2026 by bank transfer" in texts(messages)
    assert escalations() == []


async def test_refund_for_a_duplicate_payment_goes_to_the_partner(token_for):
    token = token_for("C-1003")
    tracker = make_tracker("G000300001", intent="inform", entities=[entity("invoice_number", "G000300001")],
                           token=token, slots={"requested_slot": "refund_invoice"})
    _, slots = await validate(ValidateRefundForm(), tracker)
    assert slots["refund_invoice"] == "G000300001"
    assert next_question(slots, DOMAIN["forms"]["refund_form"]["required_slots"]) == "refund_confirmed"
    messages, _ = await run_action(ActionSubmitRefund(), make_tracker(
        "yes", token=token, slots={"refund_invoice": "G000300001", "refund_confirmed": True}))
    (row,) = escalations()
    assert (row.route, row.kind, str(row.amount)) == ("partner", "refund", "5300.00")
    assert "the billing team of Lakeshore Cloud Partners" in texts(messages)


async def test_no_refund_without_an_overpayment(token_for):
    tracker = make_tracker("G000100001", intent="inform", entities=[entity("invoice_number", "G000100001")],
                           token=token_for("C-1001"), slots={"requested_slot": "refund_invoice"})
    _, slots = await validate(ValidateRefundForm(), tracker)
    assert slots["requested_slot"] is None  # nothing to confirm
    messages, _ = await run_action(ActionSubmitRefund(), make_tracker("", token=token_for("C-1001"),
                                                                      slots={"refund_invoice": "G000100001"}))
    assert "G000100001 was paid once" in texts(messages) and "nothing to refund" in texts(messages)


async def test_ticket_status_lists_only_the_customers_own(token_for):
    await run_action(ActionSubmitDispute(), make_tracker("yes", token=token_for("C-1004"), slots=TAILSPIN_SLOTS))
    mine = texts((await run_action(ActionShowTickets(), make_tracker("status", token=token_for("C-1004"))))[0])
    assert "dispute about invoice G000400001, CNY 4,500.00. Status: received; we are passing it to 21Vianet" in mine
    other = (await run_action(ActionShowTickets(), make_tracker("status", token=token_for("C-1001"))))[0]
    assert other[0]["response"] == "utter_no_tickets"


async def test_forms_need_a_signed_in_customer(db_url):
    messages, slots = await validate(ValidateDisputeForm(), make_tracker("G000400001", intent="inform"))
    assert messages[0]["response"] == "utter_sign_in_required"
    assert slots == {"requested_slot": None, "dispute_invoice": None, "dispute_charge": None, "dispute_details": None,
                     "dispute_confirmed": None}  # nothing is kept for a later form


async def test_one_duplicate_payment_is_one_refund_request_whatever_the_path(token_for):
    from actions.invoices import ActionShowBalance

    token = token_for("C-1003")
    first, _ = await run_action(ActionSubmitRefund(), make_tracker(
        "yes", token=token, slots={"refund_invoice": "G000300001", "refund_confirmed": True}))
    # The same money disputed as "charged twice", in other words: the same request, not a second one.
    again, _ = await run_action(ActionSubmitDispute(), make_tracker("yes", intent="affirm", token=token, slots={
        "dispute_invoice": "G000300001", "dispute_charge": "charged twice",
        "dispute_details": "you took the money two times", "dispute_confirmed": True}))
    (row,) = escalations()
    assert f"You already reported this: your reference is {row.reference}" in texts(again)
    balance = texts((await run_action(ActionShowBalance(), make_tracker("balance", token=token)))[0])
    assert f"your refund request {row.reference} for it is" in balance


def at_details(text, intent, token):
    return make_tracker(text, intent=intent, token=token, slots={
        "requested_slot": "dispute_details", "dispute_invoice": "G000400001",
        "dispute_charge": "Reserved instance purchase"})


async def test_details_that_sound_like_another_topic_are_kept_as_the_customers_words(token_for):
    token = token_for("C-1004")
    _, slots = await validate(ValidateDisputeForm(), at_details("we sent it via WeChat Pay on the 18th",
                                                                "ask_payment_methods", token))
    assert slots["dispute_details"] == "we sent it via WeChat Pay on the 18th"
    _, question = await validate(ValidateDisputeForm(), at_details("how can I pay?", "ask_payment_methods", token))
    assert "dispute_details" not in question  # a real question is answered, then the form asks again


async def test_a_bare_no_is_never_the_complaint(token_for):
    messages, slots = await validate(ValidateDisputeForm(), at_details("no", "deny", token_for("C-1004")))
    assert slots["dispute_details"] is None and "in a few words what is wrong" in texts(messages)


async def test_yes_to_which_invoice_gets_the_question_again_not_an_error(token_for):
    tracker = make_tracker("yes", intent="affirm", token=token_for("C-1004"), slots={"requested_slot": "dispute_invoice"})
    messages, slots = await validate(ValidateDisputeForm(), tracker)
    assert texts(messages) == "I need to know which invoice it is." and slots["dispute_invoice"] is None
    assert "invalid_invoice_answers" not in slots


async def test_disputing_this_invoice_right_after_seeing_it_prefills_it(token_for):
    tracker = make_tracker("I want to dispute this invoice", intent="dispute_charge", token=token_for("C-1004"),
                           slots={"focus_invoice": "G000400001"})
    _, slots = await validate(ValidateDisputeForm(), tracker)
    assert slots["dispute_invoice"] == "G000400001"
    unrelated = make_tracker("I want to dispute a charge", intent="dispute_charge", token=token_for("C-1004"),
                             slots={"focus_invoice": "G000400001"})
    _, asked = await validate(ValidateDisputeForm(), unrelated)
    assert "dispute_invoice" not in asked  # nothing points at it: the form asks which invoice


async def test_declined_refund_files_nothing(token_for):
    messages, _ = await run_action(ActionSubmitRefund(), make_tracker(
        "no", intent="deny", token=token_for("C-1003"), slots={"refund_invoice": "G000300001",
                                                              "refund_confirmed": False}))
    assert escalations() == [] and "Your reference is" not in texts(messages)


async def test_switching_claims_carries_only_the_invoice(token_for):
    from actions.claims import ActionSwitchClaim

    tracker = make_tracker("actually I want a refund", intent="request_refund", token=token_for("C-1003"),
                           slots={"dispute_invoice": "G000300001", "dispute_charge": "Storage"})
    messages, events = await run_action(ActionSwitchClaim(), tracker)
    slots = {e["name"]: e["value"] for e in events}
    assert slots["refund_invoice"] == "G000300001" and slots["dispute_charge"] is None
    assert texts(messages) == "OK, let's make it a refund request instead."


async def test_a_charge_named_when_the_dispute_began_is_prefilled_once_the_invoice_is_known(token_for):
    from rasa_sdk import Tracker

    opening = "I'd like to contest the storage line"
    answer = make_tracker("G000100002", intent="inform", entities=[entity("invoice_number", "G000100002")],
                          token=token_for("C-1001"), slots={"requested_slot": "dispute_invoice"})
    state = answer.current_state()
    state["events"] = [{"event": "user", "text": opening, "parse_data": {"intent": {"name": "dispute_charge"}}},
                       {"event": "active_loop", "name": "dispute_form"},
                       {"event": "bot", "text": "Which invoice is it about?"}, *state["events"]]
    state["active_loop"] = {"name": "dispute_form"}
    _, slots = await validate(ValidateDisputeForm(), Tracker.from_dict(state))
    assert slots["dispute_invoice"] == "G000100002" and slots["dispute_charge"] == "Storage"
    # Without the opening words, the charge is still asked.
    _, asked = await validate(ValidateDisputeForm(), answer)
    assert "dispute_charge" not in asked
