"""What partner staff read: overdue customers, a customer's account, what the partner owes
21Vianet, subscription changes and the audit log, composed from the domain's views."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.billing.views import InvoiceView
from bot.partner.audit import SYSTEM, AuditView
from bot.partner.collections import CustomerAccount, OverdueCustomer
from bot.partner.customers import CustomerRef
from bot.partner.payables import Payables
from bot.partner.subscriptions import ALREADY, IN_PROGRESS, NO_SUBSCRIPTION, SUSPENDED, ChangePlan, ChangeView
from bot.replies.escalations import EscalationReplies
from bot.replies.reply import Item, Reply


class PartnerReplies(EscalationReplies):
    def customer(self, ref: CustomerRef) -> str:
        return self.p.say("staff.customer", name=ref.name, customer_id=ref.customer_id)

    def customers(self, refs: list[CustomerRef]) -> str:
        return self.p.listing([self.customer(r) for r in refs])

    def which_customer(self, refs: list[CustomerRef], key: str = "staff.which_customer") -> Reply:
        """Ask which customer, with each as a button (its name is what staff would type)."""
        return self.reply(key, self.p.say(key, customers=self.customers(refs)),
                          buttons=[{"title": r.name, "payload": r.name} for r in refs])

    # ----- who may do what ------------------------------------------------------------------------

    def read_only(self, change: str, admins: list[str]) -> Reply:
        what = self.p.say(f"staff.change_{change}")
        if admins:
            return self.reply("staff.read_only", self.p.say("staff.read_only", change=what, admins=self.p.listing(admins)))
        return self.reply("staff.read_only", self.p.say("staff.read_only_no_admins", change=what))

    # ----- collections ----------------------------------------------------------------------------

    def overdue_customers(self, found: list[OverdueCustomer]) -> Reply:
        if not found:
            return self.reply("staff.overdue.none", self.p.say("staff.overdue.none"))
        currency = found[0].currency
        total = sum((o.overdue_total for o in found), found[0].overdue_total * 0)
        items = [Item(self._overdue_line(o)) for o in found]
        return self.reply("staff.overdue", self.p.say("staff.overdue.title", count=len(found),
                                                      amount=self.money(total, currency)), items)

    def _overdue_line(self, o: OverdueCustomer) -> str:
        parts = [self.p.say("staff.overdue.customer", customer=self.customer(o.customer),
                            amount=self.money(o.overdue_total, o.currency),
                            invoices=self.p.listing([i.number for i in o.invoices]), days=o.days_overdue)]
        if o.suspended_since:
            parts.append(self.p.say("staff.overdue.suspended_since", day=self.p.day(o.suspended_since)))
        else:
            if o.next_reminder:
                parts.append(self.p.say("staff.overdue.next_reminder", day=self.p.day(o.next_reminder)))
            else:
                parts.append(self.p.say("staff.overdue.no_more_reminders"))
            if o.suspends_on and o.suspends_on > self.today:
                parts.append(self.p.say("staff.overdue.suspends_on", day=self.p.day(o.suspends_on)))
            elif o.suspends_on:
                parts.append(self.p.say("staff.overdue.suspends_now", day=self.p.day(o.suspends_on)))
        return self.p.sentences(parts)

    def account(self, account: CustomerAccount) -> Reply:
        who = self.customer(account.customer)
        if account.outstanding and not account.overdue:
            title = self.p.say("staff.account.title_none_overdue", customer=who,
                               outstanding=self.money(account.outstanding, account.currency))
        elif account.outstanding:
            title = self.p.say("staff.account.title", customer=who,
                               outstanding=self.money(account.outstanding, account.currency),
                               overdue=self.money(account.overdue, account.currency))
        else:
            title = self.p.say("staff.account.title_clear", customer=who)
        if account.last_payment:
            paid = self.p.say("staff.account.paid", paid=self.money(account.paid_total, account.currency),
                              amount=self.money(account.last_payment.amount, account.currency),
                              day=self.p.day(account.last_payment.paid_on))
        else:
            paid = self.p.say("staff.account.paid_nothing")
        credit = (self.p.say("staff.account.credit", amount=self.money(account.credit, account.currency))
                  if account.credit else "")
        items = [Item(self._invoice_row(inv)) for inv in account.invoices]
        subs = [self.p.say("staff.account.subscription_suspended", name=s.name,
                           day=self.p.day(s.suspended_on) if s.suspended_on else "-", reason=s.reason or "-")
                if s.status == SUSPENDED else self.p.say("staff.account.subscription_active", name=s.name)
                for s in account.subscriptions]
        return self.reply("staff.account", self.p.sentences([title, paid, credit]), items,
                          footer=self.p.sentences(subs))

    def _invoice_row(self, inv: InvoiceView) -> str:
        if inv.is_paid:
            state = self.p.say("staff.account.state_paid")
        elif inv.due_date < self.today:
            state = self.p.say("staff.account.state_overdue", days=inv.days_overdue(self.today),
                               day=self.p.day(inv.due_date))
        elif inv.payments:
            state = self.p.say("staff.account.state_partly", outstanding=self.money(inv.outstanding, inv.currency),
                               day=self.p.day(inv.due_date))
        else:
            state = self.p.say("staff.account.state_due", day=self.p.day(inv.due_date))
        return self.p.say("staff.account.invoice", number=inv.number, month=self.p.month(inv.period),
                          total=self.money(inv.total, inv.currency), state=state)

    # ----- what the partner owes 21Vianet ------------------------------------------------------------

    def owed(self, partner: str, owed: Payables) -> Reply:
        last = (self.p.say("staff.owed.last_paid", number=owed.last_paid.number,
                           month=self.p.month(owed.last_paid.period), day=self.p.day(owed.last_paid.paid_on))
                if owed.last_paid else "")
        if not owed.unpaid:
            return self.reply("staff.owed.nothing", self.p.sentences([self.p.say("staff.owed.nothing", partner=partner),
                                                                       last]))
        items = []
        for inv in owed.unpaid:
            days = (inv.due_date - self.today).days
            day = self.p.day(inv.due_date)
            when = (self.p.say("staff.owed.due_today", day=day) if days == 0
                    else self.p.say("staff.owed.due_in", count=days, day=day) if days > 0
                    else self.p.say("staff.owed.overdue", count=-days, day=day))
            items.append(Item(self.p.say("staff.owed.invoice", number=inv.number, month=self.p.month(inv.period),
                                         total=self.money(inv.total, inv.currency), when=when)))
        return self.reply("staff.owed", self.p.say("staff.owed.total", partner=partner,
                                                   amount=self.money(owed.owed, owed.currency)), items, footer=last)

    # ----- suspending and reactivating -----------------------------------------------------------

    def default_reason(self, plan: ChangePlan) -> str:
        """The reason recorded when the policy itself calls for the change."""
        if plan.target == SUSPENDED:
            return self.p.say("staff.change.reason_non_payment", amount=self.money(plan.overdue_total, plan.currency),
                              days=plan.overdue[0].days_overdue(self.today) if plan.overdue else 0)
        return self.p.say("staff.change.reason_paid")

    def change_obstacle(self, plan: ChangePlan) -> Reply:
        values = dict(customer=self.customer(plan.customer),
                      subscription=plan.subscription.name if plan.subscription else "")
        if plan.obstacle == NO_SUBSCRIPTION:
            key = "staff.change.no_subscription"
        elif plan.obstacle == IN_PROGRESS:
            key, values["reference"] = "staff.change.in_progress", plan.pending_reference
        elif plan.obstacle == ALREADY and plan.target == SUSPENDED:
            key = "staff.change.already_suspended"
            since = plan.subscription.suspended_on
            values["day"] = self.p.day(since) if since else "-"
        elif plan.obstacle == ALREADY:
            key = "staff.change.already_active"
        else:
            key = "staff.change.ask_reason_suspend" if plan.target == SUSPENDED else "staff.change.ask_reason_reactivate"
            values["amount"] = self.money(plan.overdue_total, plan.currency)
        return self.reply(key, self.p.say(key, **values))

    def confirm_change(self, plan: ChangePlan, reason: str) -> Reply:
        key = "staff.change.confirm_suspend" if plan.target == SUSPENDED else "staff.change.confirm_reactivate"
        text = self.p.say(key, customer=self.customer(plan.customer), subscription=plan.subscription.name,
                          amount=self.money(plan.overdue_total, plan.currency), reason=reason,
                          invoices=self.p.listing([i.number for i in plan.overdue]) or "-")
        return self.reply(key, text, buttons=self.p.buttons(key))

    def change_recorded(self, plan: ChangePlan, change: ChangeView, upstream: bool) -> Reply:
        values = dict(reference=change.reference, customer=self.customer(plan.customer), name=plan.customer.name,
                      subscription=plan.subscription.name, staff=change.requested_by)
        if not upstream:
            key = "staff.change.done_by_hand"
        else:
            key = "staff.change.done_suspend" if change.target == SUSPENDED else "staff.change.done_reactivate"
        return self.reply(key, self.p.say(key, **values))

    # ----- the audit log -----------------------------------------------------------------------

    def audit(self, found: list[AuditView], names: dict[str, str], timezone_name: str,
              about: CustomerRef | None = None, today_only: bool = False) -> Reply:
        if not found:
            if about:
                return self.reply("staff.audit.none", self.p.say("staff.audit.none_about", customer=self.customer(about)))
            return self.reply("staff.audit.none", self.p.say("staff.audit.none_today" if today_only
                                                             else "staff.audit.none"))
        if about:
            title = self.p.say("staff.audit.title_about", customer=self.customer(about))
        else:
            title = self.p.say("staff.audit.title_today" if today_only else "staff.audit.title")
        zone = ZoneInfo(timezone_name)
        items = []
        for entry in found:
            customer = names.get(entry.customer_id or "", entry.customer_id or "")
            what_key = f"staff.audit.{entry.action}"
            what = (self.p.say(what_key, customer=customer, reference=entry.details.get("reference", ""))
                    if what_key in self.p.entries else entry.action)
            when = format_datetime(entry.at.replace(tzinfo=timezone.utc).astimezone(zone), format="short",
                                   locale=self.p.locale)
            actor = self.p.say("staff.audit.system") if entry.actor == SYSTEM else entry.actor
            key = "staff.audit.entry_reason" if entry.reason else "staff.audit.entry"
            items.append(Item(self.p.say(key, time=when, actor=actor, what=what, reason=entry.reason or "")))
        return self.reply("staff.audit", title, items)


def utc_midnight(day_in_zone: datetime) -> datetime:
    """Midnight of a zone's day, as the naive UTC the audit log stores."""
    midnight = day_in_zone.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(timezone.utc).replace(tzinfo=None)
