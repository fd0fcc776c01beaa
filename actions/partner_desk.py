"""The partner desk: overdue customers, a customer's account, what the partner owes 21Vianet,
the audit log, and suspending or reactivating a subscription (a form: customer, a reason when
the policy does not call for it, confirmation)."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT

from actions.base import say
from actions.staff import StaffAction, StaffContext
from bot.partner import audit, collections, payables
from bot.partner.customers import CustomerRef, customers_named_in, partner_customers
from bot.partner.subscriptions import (
    ACTIVE, ALREADY, IN_PROGRESS, NEEDS_REASON, NO_SUBSCRIPTION, SUSPENDED, ChangePlan, plan_change, request_change,
)
from bot.config import load_partner_center_settings
from bot.nlp.words import means_today
from bot.partner.apply import has_upstream
from bot.replies.partner import utc_midnight

CHANGE_SLOTS = ("staff_customer", "staff_change", "staff_change_reason", "staff_change_confirmed")
BLOCKING = (ALREADY, IN_PROGRESS, NO_SUBSCRIPTION)
NO_REASON = "-"  # the reason slot of a change that will not happen: nothing left to ask
# The reason slot when the collections policy itself calls for the change: worded from the facts
# when shown and recorded, and checked again at the confirmation (the customer may have paid).
POLICY_REASON = "(policy)"
TARGET_OF_INTENT = {"partner_suspend_subscription": SUSPENDED, "partner_reactivate_subscription": ACTIVE}


def _intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def _named(ctx: StaffContext) -> list[CustomerRef]:
    return customers_named_in(ctx.session, ctx.partner_id, ctx.text)


def _customer(ctx: StaffContext, customer_id: str | None) -> CustomerRef | None:
    return next((c for c in partner_customers(ctx.session, ctx.partner_id) if c.customer_id == customer_id), None)


class ActionPartnerOverdueCustomers(StaffAction):
    def name(self) -> str:
        return "action_partner_overdue_customers"

    def answer(self, dispatcher: CollectingDispatcher, ctx: StaffContext) -> list[dict[str, Any]]:
        say(dispatcher, ctx.replies.overdue_customers(
            collections.overdue_customers(ctx.session, ctx.partner_id, ctx.settings.today())))
        return []


class ActionPartnerCustomerInvoices(StaffAction):
    """A named customer's invoices, payments and subscription. A customer asking about another
    company's account hears that only that company sees it."""

    def name(self) -> str:
        return "action_partner_customer_invoices"

    async def run(self, dispatcher, tracker, domain):
        from actions.customer import caller_of

        caller = caller_of(tracker)
        if caller.is_customer:
            dispatcher.utter_message(response="utter_only_own_account")
            return []
        return await super().run(dispatcher, tracker, domain)

    def answer(self, dispatcher: CollectingDispatcher, ctx: StaffContext) -> list[dict[str, Any]]:
        named = _named(ctx)
        if len(named) != 1:
            everyone = partner_customers(ctx.session, ctx.partner_id)
            say(dispatcher, ctx.replies.which_customer(named or everyone,
                                                       "staff.several_customers" if named else "staff.which_customer"))
            return []
        say(dispatcher, ctx.replies.account(collections.customer_account(ctx.session, named[0], ctx.settings.today())))
        return []


class ActionPartnerAmountOwed(StaffAction):
    def name(self) -> str:
        return "action_partner_amount_owed"

    def answer(self, dispatcher: CollectingDispatcher, ctx: StaffContext) -> list[dict[str, Any]]:
        from bot.db.models import Partner

        partner = ctx.session.get(Partner, ctx.partner_id)
        say(dispatcher, ctx.replies.owed(partner.name if partner else ctx.partner_id,
                                         payables.payables(ctx.session, ctx.partner_id)))
        return []


class ActionPartnerAudit(StaffAction):
    """"Who suspended Fabrikam?" (entries about one customer), "what changed today?", or the latest."""

    def name(self) -> str:
        return "action_partner_audit"

    def answer(self, dispatcher: CollectingDispatcher, ctx: StaffContext) -> list[dict[str, Any]]:
        named = _named(ctx)
        about = named[0] if len(named) == 1 else None
        today_only = means_today(ctx.text)
        since = utc_midnight(datetime.now(ZoneInfo(ctx.settings.timezone))) if today_only else None
        found = audit.entries(ctx.session, ctx.partner_id, customer_id=about.customer_id if about else None,
                              since=since, limit=10)
        names = {c.customer_id: c.name for c in partner_customers(ctx.session, ctx.partner_id)}
        say(dispatcher, ctx.replies.audit(found, names, ctx.settings.timezone, about, today_only))
        return []


# A customer's question asked by staff ("overdue?", "balance of contoso") is answered for their
# customers: the staff action that answers it, by the customer action's name.
_STAFF_EQUIVALENTS = {
    "action_show_overdue": ActionPartnerOverdueCustomers,
    **{name: ActionPartnerCustomerInvoices for name in (
        "action_show_balance", "action_show_invoice", "action_show_due_dates", "action_show_payment_status",
        "action_show_payments_made", "action_show_credit", "action_explain_suspension")},
}


def staff_equivalent(action_name: str) -> StaffAction | None:
    found = _STAFF_EQUIVALENTS.get(action_name)
    return found() if found else None


# ----- suspending and reactivating -------------------------------------------------------------

def _plan_events(ctx: StaffContext, customer: CustomerRef, target: str) -> list[dict[str, Any]]:
    """The slots a plan fills by itself: the reason when the policy calls for the change, and a
    "no" when the change cannot happen at all (the submit action then says why)."""
    plan = plan_change(ctx.session, customer, target, ctx.settings.today())
    if plan.obstacle in BLOCKING:
        return [SlotSet("staff_change_reason", NO_REASON), SlotSet("staff_change_confirmed", False)]
    if plan.obstacle is None:
        return [SlotSet("staff_change_reason", POLICY_REASON)]
    return []


def _plan_in_form(ctx: StaffContext) -> ChangePlan | None:
    """The change the form's slots describe, as it stands now."""
    customer = _customer(ctx, ctx.tracker.get_slot("staff_customer"))
    if customer is None:
        return None
    return plan_change(ctx.session, customer, ctx.tracker.get_slot("staff_change") or SUSPENDED, ctx.settings.today())


class ActionStartSubscriptionChange(StaffAction):
    """"Suspend Fabrikam" / "reactivate Contoso": admins only; then the form."""

    def name(self) -> str:
        return "action_start_subscription_change"

    def answer(self, dispatcher: CollectingDispatcher, ctx: StaffContext) -> list[dict[str, Any]]:
        target = TARGET_OF_INTENT.get(_intent(ctx.tracker) or "", SUSPENDED)
        if ctx.refuse_read_only(dispatcher, "suspend" if target == SUSPENDED else "reactivate"):
            return [SlotSet(slot, None) for slot in CHANGE_SLOTS]
        events = [SlotSet(slot, None) for slot in CHANGE_SLOTS] + [SlotSet("staff_change", target)]
        named = _named(ctx)
        if len(named) == 1:
            events += [SlotSet("staff_customer", named[0].customer_id), *_plan_events(ctx, named[0], target)]
        elif named:
            say(dispatcher, ctx.replies.which_customer(named, "staff.several_customers"))
        return events + [FollowupAction("subscription_change_form")]


class ValidateSubscriptionChangeForm(StaffAction):
    def name(self) -> str:
        return "validate_subscription_change_form"

    def refused(self, tracker: Tracker) -> list[dict[str, Any]]:
        return [SlotSet(REQUESTED_SLOT, None), *(SlotSet(slot, None) for slot in CHANGE_SLOTS)]

    def answer(self, dispatcher: CollectingDispatcher, ctx: StaffContext) -> list[dict[str, Any]]:
        tracker = ctx.tracker
        if _intent(tracker) == "cancel":
            return []
        requested = tracker.get_slot(REQUESTED_SLOT)
        target = tracker.get_slot("staff_change") or SUSPENDED
        customer = _customer(ctx, tracker.get_slot("staff_customer"))
        events: list[dict[str, Any]] = []
        if customer is None:
            named = _named(ctx)
            if len(named) == 1:
                customer = named[0]
                events += [SlotSet("staff_customer", customer.customer_id), *_plan_events(ctx, customer, target)]
            elif requested == "staff_customer":
                everyone = partner_customers(ctx.session, ctx.partner_id)
                if named:
                    say(dispatcher, ctx.replies.which_customer(named, "staff.several_customers"))
                else:
                    say(dispatcher, ctx.replies.reply("staff.not_a_customer", ctx.replies.p.say(
                        "staff.not_a_customer", typed=ctx.text[:80], customers=ctx.replies.customers(everyone))))
            return events
        # The reason is the admin's own words, whatever they sound like; only "cancel" is not one.
        if requested == "staff_change_reason" and ctx.text.strip():
            events.append(SlotSet("staff_change_reason", ctx.text.strip()[:500]))
        return events


class ActionAskStaffCustomer(StaffAction):
    def name(self) -> str:
        return "action_ask_staff_customer"

    def answer(self, dispatcher: CollectingDispatcher, ctx: StaffContext) -> list[dict[str, Any]]:
        key = ("staff.change.ask_customer_reactivate" if ctx.tracker.get_slot("staff_change") == ACTIVE
               else "staff.change.ask_customer_suspend")
        everyone = partner_customers(ctx.session, ctx.partner_id)
        say(dispatcher, ctx.replies.reply(key, ctx.replies.p.say(key),
                                          buttons=[{"title": c.name, "payload": c.name} for c in everyone]))
        return []


class ActionAskStaffChangeReason(StaffAction):
    """Asked only when the policy does not call for the change: says why, asks the admin's reason."""

    def name(self) -> str:
        return "action_ask_staff_change_reason"

    def answer(self, dispatcher: CollectingDispatcher, ctx: StaffContext) -> list[dict[str, Any]]:
        plan = _plan_in_form(ctx)
        if plan is not None:
            say(dispatcher, ctx.replies.change_obstacle(plan))
        return []


class ActionAskStaffChangeConfirmed(StaffAction):
    def name(self) -> str:
        return "action_ask_staff_change_confirmed"

    def answer(self, dispatcher: CollectingDispatcher, ctx: StaffContext) -> list[dict[str, Any]]:
        plan = _plan_in_form(ctx)
        if plan is not None:
            reason = ctx.tracker.get_slot("staff_change_reason") or ""
            say(dispatcher, ctx.replies.confirm_change(plan, ctx.replies.default_reason(plan)
                                                       if reason == POLICY_REASON else reason))
        return []


class ActionSubmitSubscriptionChange(StaffAction):
    """After the form: record the change (re-checked now: the customer may have paid meanwhile),
    or say why not."""

    def name(self) -> str:
        return "action_submit_subscription_change"

    def refused(self, tracker: Tracker) -> list[dict[str, Any]]:
        return [SlotSet(slot, None) for slot in CHANGE_SLOTS]

    def answer(self, dispatcher: CollectingDispatcher, ctx: StaffContext) -> list[dict[str, Any]]:
        reset = self.refused(ctx.tracker)
        tracker = ctx.tracker
        plan = _plan_in_form(ctx)
        if plan is None:
            return reset
        if ctx.refuse_read_only(dispatcher, "suspend" if plan.target == SUSPENDED else "reactivate"):
            return reset
        reason = tracker.get_slot("staff_change_reason")
        if plan.obstacle in BLOCKING:
            say(dispatcher, ctx.replies.change_obstacle(plan))
            return reset
        if tracker.get_slot("staff_change_confirmed") is not True or not reason or reason == NO_REASON:
            dispatcher.utter_message(response="utter_staff.change.not_done")
            return reset
        if reason == POLICY_REASON:
            if plan.obstacle == NEEDS_REASON:  # paid (or fell overdue) while staff were deciding
                say(dispatcher, ctx.replies.reply("staff.change.policy_changed", ctx.replies.p.say(
                    "staff.change.policy_changed", customer=ctx.replies.customer(plan.customer))))
                return reset
            reason = ctx.replies.default_reason(plan)
        change = request_change(ctx.session, plan, partner_id=ctx.partner_id, staff_name=ctx.caller.staff_name,
                                staff_id=ctx.caller.staff_id, reason=reason)
        upstream = has_upstream(load_partner_center_settings()) and plan.in_partner_center  # else done by hand
        say(dispatcher, ctx.replies.change_recorded(plan, change, upstream))
        return reset
