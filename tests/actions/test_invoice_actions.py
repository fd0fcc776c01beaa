"""Invoice actions as the action server runs them: real tracker, real dispatcher, real database."""
from datetime import datetime, timedelta, timezone

import pytest

from actions.invoices import (ActionExplainBillChange, ActionHandleInform, ActionShowBalance, ActionShowDueDates,
                              ActionShowInvoice, ActionShowInvoiceLines, ActionShowPaymentStatus)
from bot.identity import issue_token
from tests.conftest import entity, make_tracker, run_action, texts


async def test_latest_invoice(token_for):
    messages, events = await run_action(ActionShowInvoice(), make_tracker("show my latest invoice",
                                                                          token=token_for("C-1001")))
    reply = texts(messages)
    assert "Your latest invoice is G000100002 for October 2026: CNY 9,615.50" in reply
    assert "It hasn't been paid yet and is due November 30, 2026 (in 5 days)." in reply
    assert messages[0]["buttons"][0]["payload"] == '/ask_invoice_lines{"invoice_number":"G000100002"}'
    assert events == [{"event": "slot", "timestamp": None, "name": "focus_invoice", "value": "G000100002"},
                      {"event": "slot", "timestamp": None, "name": "last_invoice_question", "value": "invoice"}]


@pytest.mark.parametrize("typed", ["G000100001", "g000100001", "G 000 100 001"])
async def test_invoice_by_number_in_any_spelling(token_for, typed):
    tracker = make_tracker(f"invoice {typed}", entities=[entity("invoice_number", typed)], token=token_for("C-1001"))
    reply = texts((await run_action(ActionShowInvoice(), tracker))[0])
    assert "Invoice G000100001 for September 2026: CNY 8,240.00" in reply
    assert "paid in full: CNY 8,240.00 on October 20, 2026 by bank transfer" in reply


async def test_invoice_by_month(token_for):
    tracker = make_tracker("the invoice for last month", entities=[entity("billing_period", "last month")],
                           token=token_for("C-1001"))
    assert "Invoice G000100002 for October 2026" in texts((await run_action(ActionShowInvoice(), tracker))[0])


async def test_no_invoice_for_that_month(token_for):
    tracker = make_tracker("invoice for March", entities=[entity("billing_period", "March")], token=token_for("C-1001"))
    messages, events = await run_action(ActionShowInvoice(), tracker)
    assert messages[0]["response"] == "utter_no_invoice_for_period" and messages[0]["period"] == "March 2026"
    assert events == []


async def test_foreign_and_unknown_invoices_get_the_same_answer(token_for):
    token = token_for("C-1001")
    foreign = await run_action(ActionShowInvoice(), make_tracker(
        "invoice G000200001", entities=[entity("invoice_number", "G000200001")], token=token))
    missing = await run_action(ActionShowInvoice(), make_tracker(
        "invoice G000999999", entities=[entity("invoice_number", "G000999999")], token=token))
    assert foreign[0][0]["response"] == missing[0][0]["response"] == "utter_invoice_not_found"
    assert "12,400" not in str(foreign) and "Fabrikam" not in str(foreign)
    assert foreign[1] == missing[1] == []


async def test_malformed_invoice_number_is_explained(token_for):
    messages, _ = await run_action(ActionShowInvoice(), make_tracker("show invoice G12345", token=token_for("C-1001")))
    assert messages[0]["response"] == "utter_invoice_number_malformed" and messages[0]["typed"] == "G12345"


async def test_lines_of_the_invoice_in_focus(token_for):
    tracker = make_tracker("show me the lines", intent="ask_invoice_lines", token=token_for("C-1001"),
                           slots={"focus_invoice": "G000100001"})
    reply = texts((await run_action(ActionShowInvoiceLines(), tracker))[0])
    assert reply == ("Invoice G000100001 (September 2026):\n- Virtual machines: CNY 6,744.50\n"
                     "- Storage: CNY 1,495.50\nTotal: CNY 8,240.00")


async def test_focus_from_another_customer_is_ignored(token_for):
    """A slot left over from someone else's session never shows their invoice."""
    tracker = make_tracker("show me the lines", intent="ask_invoice_lines", token=token_for("C-1001"),
                           slots={"focus_invoice": "G000200001"})
    reply = texts((await run_action(ActionShowInvoiceLines(), tracker))[0])
    assert "G000100002" in reply and "G000200001" not in reply


async def test_balance_for_each_demo_customer(token_for):
    contoso = texts((await run_action(ActionShowBalance(), make_tracker("balance", token=token_for("C-1001"))))[0])
    assert contoso.startswith("Your balance is CNY 9,615.50, on 1 unpaid invoice:")
    assert "Nothing is overdue." in contoso
    fabrikam = texts((await run_action(ActionShowBalance(), make_tracker("balance", token=token_for("C-1002"))))[0])
    assert "Your balance is CNY 24,380.00, on 2 unpaid invoices" in fabrikam and "All of it is overdue." in fabrikam
    assert "G000200001 (August 2026): CNY 12,400.00, overdue since September 30, 2026 (56 days)" in fabrikam
    northwind = texts((await run_action(ActionShowBalance(), make_tracker("balance", token=token_for("C-1003"))))[0])
    assert "You have nothing to pay" in northwind and "credit of CNY 5,300.00" in northwind


async def test_due_dates(token_for):
    reply = texts((await run_action(ActionShowDueDates(), make_tracker("when is it due", token=token_for("C-1004"))))[0])
    assert reply == "G000400001 (October 2026, CNY 7,800.00) is due November 30, 2026 (in 5 days)."


async def test_payment_status_of_a_double_payment(token_for):
    tracker = make_tracker("did you get my payment for G000300001", entities=[entity("invoice_number", "G000300001")],
                           token=token_for("C-1003"))
    reply = texts((await run_action(ActionShowPaymentStatus(), tracker))[0])
    assert "CNY 5,300.00 on November 5, 2026" in reply and "CNY 5,300.00 on November 6, 2026" in reply
    assert "CNY 5,300.00 more than the invoice" in reply


async def test_payment_status_without_a_number_lists_recent_invoices(token_for):
    reply = texts((await run_action(ActionShowPaymentStatus(), make_tracker("did my payment arrive",
                                                                            token=token_for("C-1001"))))[0])
    assert "G000100002" in reply and "G000100001" in reply and "October 20, 2026" in reply


async def test_why_the_bill_changed(token_for):
    tracker = make_tracker("why is my bill higher", intent="explain_charge", token=token_for("C-1001"))
    reply = texts((await run_action(ActionExplainBillChange(), tracker))[0])
    assert "Your October 2026 invoice G000100002 is CNY 9,615.50, CNY 1,375.50 more than September 2026" in reply
    assert "Bandwidth is new this month: CNY 2,000.00" in reply
    assert "Virtual machines went down by CNY 624.50, from CNY 6,744.50 to CNY 6,120.00" in reply
    assert "Unchanged: Storage." in reply


async def test_explaining_a_named_charge(token_for):
    tracker = make_tracker("what is the bandwidth charge?", intent="explain_charge", token=token_for("C-1001"))
    reply = texts((await run_action(ActionExplainBillChange(), tracker))[0])
    assert "On invoice G000100002 (October 2026), Bandwidth is CNY 2,000.00. It is data transferred out" in reply
    assert "It is new: there was no Bandwidth charge in September 2026." in reply


async def test_named_charge_found_on_the_latest_invoice_when_not_on_the_one_in_focus(token_for):
    tracker = make_tracker("what is the bandwidth charge?", intent="explain_charge", token=token_for("C-1001"),
                           slots={"focus_invoice": "G000100001"})
    messages, events = await run_action(ActionExplainBillChange(), tracker)
    assert "On invoice G000100002 (October 2026), Bandwidth is CNY 2,000.00." in texts(messages)
    assert events[0]["value"] == "G000100002"


async def test_month_named_as_the_baseline_is_not_the_subject(token_for):
    """"Why is it more than September?" compares the invoice in focus with September."""
    tracker = make_tracker("why is it more than september?", intent="explain_charge", token=token_for("C-1001"),
                           entities=[entity("billing_period", "september")], slots={"focus_invoice": "G000100002"})
    reply = texts((await run_action(ActionExplainBillChange(), tracker))[0])
    assert reply.startswith("Your October 2026 invoice G000100002 is CNY 9,615.50, CNY 1,375.50 more than September 2026")


async def test_inform_with_a_bare_number(token_for):
    tracker = make_tracker("G000400001", intent="inform", entities=[entity("invoice_number", "G000400001")],
                           token=token_for("C-1004"))
    assert "Invoice G000400001 for October 2026: CNY 7,800.00" in texts((await run_action(ActionHandleInform(), tracker))[0])


@pytest.mark.parametrize("action", [ActionShowInvoice(), ActionShowBalance(), ActionShowDueDates(),
                                    ActionShowPaymentStatus(), ActionExplainBillChange()])
async def test_no_token_no_data(db_url, action):
    messages, events = await run_action(action, make_tracker("what do I owe"))
    assert [m["response"] for m in messages] == ["utter_sign_in_required"] and events == []


async def test_expired_token_is_told_apart(db_url):
    old = issue_token("C-1001", ttl=timedelta(minutes=1), now=datetime.now(timezone.utc) - timedelta(hours=1))
    messages, _ = await run_action(ActionShowBalance(), make_tracker("balance", token=old))
    assert [m["response"] for m in messages] == ["utter_sign_in_expired"]


async def test_a_sign_in_that_expires_in_a_form_is_told_once(db_url):
    """The form's check says it; the submit action that follows in the same turn does not again."""
    from actions.claims import ActionSubmitDispute

    old = issue_token("C-1001", ttl=timedelta(minutes=1), now=datetime.now(timezone.utc) - timedelta(hours=1))
    tracker = make_tracker("yes", intent="affirm", token=old)
    tracker.events.append({"event": "bot", "text": "", "metadata": {"utter_action": "utter_sign_in_expired"}})
    messages, _ = await run_action(ActionSubmitDispute(), tracker)
    assert messages == []
    messages, _ = await run_action(ActionSubmitDispute(), make_tracker("yes", intent="affirm", token=old))
    assert [m["response"] for m in messages] == ["utter_sign_in_expired"]  # said when not said yet


async def test_token_for_a_customer_that_does_not_exist(token_for):
    messages, _ = await run_action(ActionShowBalance(), make_tracker("balance", token=token_for("C-4040")))
    assert [m["response"] for m in messages] == ["utter_sign_in_required"]


async def test_database_down_gets_a_clear_answer(token_for, monkeypatch, tmp_path):
    token = token_for("C-1001")
    monkeypatch.setenv("BOT_DATABASE_URL", f"sqlite:///{tmp_path}/missing/dir/db.sqlite3")
    messages, _ = await run_action(ActionShowBalance(), make_tracker("balance", token=token))
    assert [m["response"] for m in messages] == ["utter_billing_unavailable"]


async def test_a_caller_the_client_wrote_itself_is_not_trusted_without_the_channel(token_for):
    # The channel verifies the token and writes metadata["caller"]; a token that fails leaves an
    # anonymous caller, whatever else the metadata says.
    tracker = make_tracker("balance", token="eyJhbGciOiJIUzI1NiJ9.e30.forged")
    messages, _ = await run_action(ActionShowBalance(), tracker)
    assert messages[0]["response"] == "utter_sign_in_required"


async def test_several_invoices_in_one_month_are_all_named(token_for, session):
    from datetime import date
    from decimal import Decimal
    from bot.db.models import Invoice
    session.add(Invoice(number="G000100003", customer_id="C-1001", period="2026-10", issue_date=date(2026, 11, 10),
                        due_date=date(2026, 12, 10), currency="CNY", total=Decimal("120.00"), status="unpaid"))
    session.commit()
    tracker = make_tracker("invoice for October", entities=[entity("billing_period", "October")],
                           token=token_for("C-1001"))
    reply = texts((await run_action(ActionShowInvoice(), tracker))[0])
    assert reply.startswith("You have 2 invoices for October 2026. Here is G000100002; ask for G000100003 by number")


def follow_up(text, intent, focus, question=None, entities=None, token=None):
    return make_tracker(text, intent=intent, entities=entities, token=token,
                        slots={"focus_invoice": focus, "last_invoice_question": question})


async def test_that_and_it_mean_the_invoice_in_focus(token_for):
    from actions.invoices import ActionShowDueDates, ActionShowPaymentStatus

    token = token_for("C-1001")
    due = texts((await run_action(ActionShowDueDates(), follow_up("and when was that due?", "ask_due_date",
                                                                  "G000100001", token=token)))[0])
    assert due == "G000100001 (September 2026, CNY 8,240.00) was due October 31, 2026 and is paid."
    paid = texts((await run_action(ActionShowPaymentStatus(), follow_up("has it been paid?", "ask_payment_status",
                                                                        "G000100001", token=token)))[0])
    assert paid.startswith("G000100001 (September 2026, CNY 8,240.00): It is paid in full")
    every = texts((await run_action(ActionShowDueDates(), follow_up("when are all my bills due?", "ask_due_date",
                                                                    "G000100001", token=token)))[0])
    assert every.startswith("G000100002 (October 2026, CNY 9,615.50) is due November 30, 2026")


async def test_follow_ups_ask_the_same_question_about_another_invoice(token_for):
    from actions.invoices import ActionHandleInform

    token = token_for("C-1001")
    october = texts((await run_action(ActionHandleInform(), follow_up(
        "and October?", "inform", "G000100001", "due", [entity("billing_period", "October")], token)))[0])
    assert october == "G000100002 (October 2026, CNY 9,615.50) is due November 30, 2026 (in 5 days)."
    previous = texts((await run_action(ActionHandleInform(), follow_up(
        "the previous one", "inform", "G000100002", "invoice", token=token)))[0])
    assert previous.startswith("Invoice G000100001 for September 2026: CNY 8,240.00")
    before = (await run_action(ActionHandleInform(), follow_up(
        "and two months back?", "inform", "G000100002", "invoice", token=token)))[0]
    assert before[0]["response"] == "utter_no_invoice_for_period" and before[0]["period"] == "August 2026"


async def test_every_invoice_is_listed_newest_first(token_for):
    reply = texts((await run_action(ActionShowInvoice(), make_tracker("show me every invoice I have",
                                                                      token=token_for("C-1001"))))[0])
    assert reply == ("You have 2 invoices, newest first:\n"
                     "- G000100002 (October 2026): CNY 9,615.50, unpaid, due November 30, 2026 (in 5 days)\n"
                     "- G000100001 (September 2026): CNY 8,240.00, paid")


def periods(*values):
    return [entity("billing_period", v) for v in values]


async def test_this_months_bill_against_last_months_compares_the_latest_with_the_one_before(token_for):
    from actions.invoices import ActionExplainBillChange

    tracker = make_tracker("why is this month's bill bigger than last month's?", intent="explain_charge",
                           entities=periods("this month's", "last month's"), token=token_for("C-1001"))
    reply = texts((await run_action(ActionExplainBillChange(), tracker))[0])
    assert reply.startswith("Your October 2026 invoice G000100002 is CNY 9,615.50, CNY 1,375.50 more than "
                            "September 2026 (CNY 8,240.00).")


async def test_two_months_named_and_one_without_an_invoice(token_for):
    from actions.invoices import ActionExplainBillChange

    tracker = make_tracker("why is October's bill higher than August's?", intent="explain_charge",
                           entities=periods("October", "August"), token=token_for("C-1001"))
    messages = (await run_action(ActionExplainBillChange(), tracker))[0]
    assert messages[0]["response"] == "utter_no_invoice_for_period" and messages[0]["period"] == "August 2026"
    assert messages[1]["text"].startswith("Your October 2026 invoice G000100002 is CNY 9,615.50, CNY 1,375.50 more "
                                          "than September 2026")


async def test_this_months_bill_before_this_month_is_invoiced_is_the_latest(token_for):
    tracker = make_tracker("show me this month's bill", entities=periods("this month's"), token=token_for("C-1001"))
    reply = texts((await run_action(ActionShowInvoice(), tracker))[0])
    assert reply.startswith("Invoice G000100002 for October 2026")
