"""The partner desk's actions, run as the action server runs them, against the seeded database."""
from rasa_sdk import Tracker

from actions.partner_desk import (
    ActionAskStaffChangeConfirmed,
    ActionAskStaffChangeReason,
    ActionPartnerAmountOwed,
    ActionPartnerAudit,
    ActionPartnerCustomerInvoices,
    ActionPartnerOverdueCustomers,
    ActionStartSubscriptionChange,
    ActionSubmitSubscriptionChange,
    ValidateSubscriptionChangeForm,
)
from bot.caller import CALLER_KEY, resolve_platform_caller
from bot.config import load_settings
from tests.conftest import make_tracker, run_action, texts

MEI_SLACK = ("slack", "T0LAKESHORE", "U0MEICHEN")
LI_TEAMS = ("teams", "7d3c0c2e-1a1b-4c4c-9f00-1a5e5b0ca001", "a1a1a1a1-0000-4000-8000-000000000002")


def staff(text, who=MEI_SLACK, intent="partner_overdue_customers", slots=None, locale=None, requested=None):
    base = make_tracker(text, intent=intent, slots={**(slots or {}), "requested_slot": requested})
    state = base.current_state()
    metadata = {CALLER_KEY: resolve_platform_caller(*who, load_settings().database_url).to_metadata()}
    if locale:
        metadata["locale"] = locale
    state["latest_message"]["metadata"] = metadata
    state["events"][0]["metadata"] = metadata
    return Tracker.from_dict(state)


def slots_of(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_an_admin_lists_overdue_customers_with_days_and_what_comes_next(db_url):
    messages, _ = await run_action(ActionPartnerOverdueCustomers(), staff("which customers are overdue?"))
    said = texts(messages)
    assert "1 customer is overdue, CNY 24,380.00 in all" in said
    assert "Fabrikam Inc (C-1002): CNY 24,380.00 overdue on G000200001 and G000200002, the oldest 56 days late." in said
    assert "Suspended since November 15, 2026." in said
    assert messages[0]["custom"]["reply"]["items"]  # a list Slack and Teams render as sections


async def test_the_answer_follows_the_staff_members_language(db_url):
    messages, _ = await run_action(ActionPartnerOverdueCustomers(), staff("哪些客户逾期了", locale="zh-CN"))
    assert "共有 1 位客户逾期，合计 CNY 24,380.00" in texts(messages)
    assert "已于 2026年11月15日 暂停" in texts(messages)


async def test_a_customers_account_by_a_loose_name(db_url):
    messages, _ = await run_action(ActionPartnerCustomerInvoices(),
                                   staff("north wind invoices", intent="partner_customer_invoices"))
    said = texts(messages)
    assert "Northwind Traders (C-1003): nothing outstanding." in said
    assert "Credit from overpayment: CNY 5,300.00." in said and "G000300001 (October 2026): CNY 5,300.00, paid" in said


async def test_an_unnamed_customer_is_asked_for_with_buttons(db_url):
    messages, _ = await run_action(ActionPartnerCustomerInvoices(), staff("invoices pls", intent="partner_customer_invoices"))
    assert "Which customer?" in texts(messages)
    assert [b["payload"] for b in messages[0]["buttons"]] == ["Contoso Ltd", "Fabrikam Inc", "Northwind Traders",
                                                             "Tailspin Toys"]


async def test_a_customer_asking_about_another_account_sees_only_their_own(db_url, token_for):
    messages, _ = await run_action(ActionPartnerCustomerInvoices(), make_tracker(
        "how much does Northwind owe?", intent="partner_customer_invoices", token=token_for("C-1001")))
    assert [m.get("response") for m in messages] == ["utter_only_own_account"]
    messages, _ = await run_action(ActionPartnerOverdueCustomers(), make_tracker(
        "which customers are overdue?", intent="partner_overdue_customers", token=token_for("C-1001")))
    assert [m.get("response") for m in messages] == ["utter_staff_question"]


async def test_someone_not_in_the_directory_is_sent_to_their_admin_and_sees_nothing(db_url):
    stranger = ("slack", "T0LAKESHORE", "U0STRANGER")
    messages, _ = await run_action(ActionPartnerOverdueCustomers(), staff("which customers are overdue?", who=stranger))
    assert [m.get("response") for m in messages] == ["utter_staff.not_in_directory"]
    assert "staff directory" in texts(messages) and "Fabrikam" not in texts(messages)


async def test_what_the_partner_owes_21vianet(db_url):
    messages, _ = await run_action(ActionPartnerAmountOwed(), staff("how much do we owe 21vianet", intent="partner_amount_owed"))
    said = texts(messages)
    assert "Lakeshore Cloud Partners owes 21Vianet CNY 48,200.00:" in said
    assert "PV-2026-10 (October 2026): CNY 48,200.00, due today (November 25, 2026)" in said
    assert "PV-2026-09 (September 2026), was paid on October 22, 2026." in said


async def test_read_only_staff_can_look_but_not_suspend(db_url):
    messages, events = await run_action(ActionStartSubscriptionChange(), staff(
        "suspend contoso", who=LI_TEAMS, intent="partner_suspend_subscription"))
    assert "Your role is read-only" in texts(messages) and "Mei Chen" in texts(messages)
    assert not any(e.get("event") == "followup" for e in events)
    looked, _ = await run_action(ActionPartnerOverdueCustomers(), staff("overdue?", who=LI_TEAMS))
    assert "Fabrikam" in texts(looked)


async def test_reactivating_against_the_policy_needs_a_reason_then_a_confirmation(db_url):
    _, events = await run_action(ActionStartSubscriptionChange(), staff(
        "reactivate fabrikam", intent="partner_reactivate_subscription"))
    slots = slots_of(events)
    assert slots["staff_customer"] == "C-1002" and slots["staff_change"] == "active"
    assert slots.get("staff_change_reason") is None  # still overdue: the admin must say why
    assert any(e.get("event") == "followup" and e.get("name") == "subscription_change_form" for e in events)
    form = {"staff_customer": "C-1002", "staff_change": "active"}
    asked, _ = await run_action(ActionAskStaffChangeReason(), staff("", intent="partner_reactivate_subscription",
                                                                    slots=form))
    assert "Fabrikam Inc (C-1002) still has CNY 24,380.00 overdue" in texts(asked)
    _, events = await run_action(ValidateSubscriptionChangeForm(), staff(
        "they wired it yesterday, proof in email", intent="inform", slots=form, requested="staff_change_reason"))
    assert slots_of(events) == {"staff_change_reason": "they wired it yesterday, proof in email"}
    form["staff_change_reason"] = "they wired it yesterday, proof in email"
    confirm, _ = await run_action(ActionAskStaffChangeConfirmed(), staff("", slots=form))
    assert "Reactivate Fabrikam Inc (C-1002)'s Azure plan?" in texts(confirm)
    assert [b["payload"] for b in confirm[0]["buttons"]] == ["/affirm", "/deny"]
    done, events = await run_action(ActionSubmitSubscriptionChange(), staff(
        "yes", intent="affirm", slots={**form, "staff_change_confirmed": True}))
    assert "Recorded as SC-" in texts(done) and "requested by Mei Chen" in texts(done)
    assert slots_of(events)["staff_customer"] is None
    log, _ = await run_action(ActionPartnerAudit(), staff("who reactivated fabrikam?", intent="partner_audit"))
    assert "Mei Chen asked to reactivate Fabrikam Inc (SC-" in texts(log)
    assert 'reason: "they wired it yesterday, proof in email"' in texts(log)


async def test_suspending_an_already_suspended_customer_says_so_and_changes_nothing(db_url):
    _, events = await run_action(ActionStartSubscriptionChange(), staff("suspend fabrikam", intent="partner_suspend_subscription"))
    slots = slots_of(events)
    assert slots["staff_change_confirmed"] is False
    done, _ = await run_action(ActionSubmitSubscriptionChange(), staff("", slots={
        "staff_customer": "C-1002", "staff_change": "suspended", "staff_change_reason": "-",
        "staff_change_confirmed": False}))
    assert "Fabrikam Inc (C-1002)'s Azure plan is already suspended (since November 15, 2026)." in texts(done)


async def test_a_declined_change_changes_nothing(db_url):
    form = {"staff_customer": "C-1001", "staff_change": "suspended", "staff_change_reason": "asked to",
            "staff_change_confirmed": False}
    done, _ = await run_action(ActionSubmitSubscriptionChange(), staff("no", intent="deny", slots=form))
    assert [m.get("response") for m in done] == ["utter_staff.change.not_done"]
    log, _ = await run_action(ActionPartnerAudit(), staff("audit log", intent="partner_audit"))
    assert "Nothing in the audit log yet." in texts(log)


async def test_a_customers_question_from_staff_is_answered_for_their_customers(db_url):
    from actions.invoices import ActionShowBalance, ActionShowOverdue

    messages, _ = await run_action(ActionShowOverdue(), staff("overdue?", intent="ask_overdue"))
    assert "1 customer is overdue" in texts(messages)
    messages, _ = await run_action(ActionShowBalance(), staff("balance of tailspin", intent="ask_balance"))
    assert "Tailspin Toys (C-1004): CNY 7,800.00 outstanding" in texts(messages)


async def test_staff_see_the_fapiao_queue_and_mark_one_issued_from_chat(db_url):
    from actions.partner_fapiao import ActionPartnerFapiaoIssue, ActionPartnerFapiaoQueue
    from tests.fapiao.helpers import file

    reference = file(conversation_id="widget-c-x").request.reference
    queue, _ = await run_action(ActionPartnerFapiaoQueue(), staff("fapiao queue?", intent="partner_fapiao_queue"))
    assert "1 fapiao request is waiting:" in texts(queue)
    assert f"{reference}: Contoso Ltd (C-1001), ordinary VAT fapiao for G000100001 (CNY 8,240.00)" in texts(queue)
    refused, _ = await run_action(ActionPartnerFapiaoIssue(), staff(
        f"issue {reference} 26311000000012345678", who=LI_TEAMS, intent="partner_fapiao_issue"))
    assert "read-only" in texts(refused)
    wrong, _ = await run_action(ActionPartnerFapiaoIssue(), staff(
        f"issue {reference} 25311000000012345678", intent="partner_fapiao_issue"))
    assert "starts with 26" in texts(wrong)
    done, _ = await run_action(ActionPartnerFapiaoIssue(), staff(
        f"issue {reference.lower()} 2631 1000 0000 1234 5678", intent="partner_fapiao_issue"))
    assert f"Marked {reference} issued: fapiao 26311000000012345678, November 25, 2026." in texts(done)
    log, _ = await run_action(ActionPartnerAudit(), staff("audit log", intent="partner_audit"))
    assert f"Mei Chen marked Contoso Ltd's fapiao request issued ({reference})" in texts(log)
    empty, _ = await run_action(ActionPartnerFapiaoQueue(), staff("fapiao queue?", intent="partner_fapiao_queue"))
    assert "No fapiao requests are waiting." in texts(empty)
    missing, _ = await run_action(ActionPartnerFapiaoIssue(), staff(
        "issue FP-ZZZZZZ 26311000000012345678", intent="partner_fapiao_issue"))
    assert "can't find FP-ZZZZZZ" in texts(missing)


async def test_a_suspension_the_policy_called_for_is_checked_again_at_the_confirmation(db_url):
    from datetime import date

    from sqlalchemy import select, update

    from bot.db import session_scope
    from bot.db.models import Invoice, Payment, Subscription

    with session_scope() as session:  # Fabrikam active again, still overdue: the policy calls for a suspension
        session.execute(update(Subscription).where(Subscription.customer_id == "C-1002").values(status="active"))
    _, events = await run_action(ActionStartSubscriptionChange(), staff("suspend fabrikam",
                                                                        intent="partner_suspend_subscription"))
    form = {**{k: v for k, v in slots_of(events).items() if v is not None}, "staff_change_confirmed": True}
    assert form["staff_change_reason"] == "(policy)"
    with session_scope() as session:  # ...and then Fabrikam pays everything before the click
        for invoice in session.scalars(select(Invoice).where(Invoice.customer_id == "C-1002")):
            session.add(Payment(invoice_id=invoice.id, paid_on=date(2026, 11, 25), amount=invoice.total,
                                method="bank_transfer", reference=f"BT-{invoice.number}"))
            invoice.status = "paid"
    done, _ = await run_action(ActionSubmitSubscriptionChange(), staff("yes", intent="affirm", slots=form))
    assert "Nothing changed" in texts(done) and "SC-" not in texts(done)
