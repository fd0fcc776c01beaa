"""Billing answers as replies: invoices, balance, payments, bill changes, suspensions, the policy.

Plain functions of the domain's views (bot.billing) and one language's phrases; no wording here,
only which phrase fits the facts.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.billing.invoices import Balance, BillChange, PaymentsMade
from bot.billing.parsing import previous_period
from bot.billing.policy import CustomerPolicy, Suspension, add_business_days
from bot.billing.views import InvoiceView, PaymentView
from bot.replies.catalogue import Phrases
from bot.replies.reply import Item, Reply

INVOICES_LISTED = 12  # a longer history is listed newest first, then "...and N older ones"


class BillingReplies:
    def __init__(self, phrases: Phrases, today: date, line_names: dict[str, str] | None = None):
        self.p = phrases
        self.today = today
        self.line_names = line_names or {}  # invoice lines' display names in this language

    def line(self, description: str) -> str:
        """An invoice line as this language calls it ("Bandwidth" / "带宽"), else as written."""
        return self.line_names.get(description, description)

    # ----- small parts --------------------------------------------------------------------------

    def reply(self, key: str, text: str, items: list[Item] | tuple[Item, ...] = (), footer: str = "",
              buttons: list[dict[str, str]] | tuple = ()) -> Reply:
        return Reply(key, self.p.language, text, tuple(items), footer, tuple(buttons))

    def money(self, amount: Decimal, currency: str) -> str:
        return self.p.money(amount, currency)

    def method(self, code: str) -> str:
        return self.p.say(f"method.{code}") if f"method.{code}" in self.p.entries else code

    def business_days(self, count: int) -> str:
        return self.p.say("due.business_days", count=count)

    def due(self, inv: InvoiceView) -> str:
        """A noun phrase: `due November 30, 2026 (in 5 days)`, `overdue since ... (56 days)`."""
        days = (inv.due_date - self.today).days
        day = self.p.day(inv.due_date)
        if days > 1:
            return self.p.say("due.in_days", day=day, days=days)
        if days == 1:
            return self.p.say("due.tomorrow", day=day)
        if days == 0:
            return self.p.say("due.today", day=day)
        return self.p.say("due.overdue", count=-days, day=day)

    def is_due(self, inv: InvoiceView) -> str:
        """A predicate: `is due ...` or `has been overdue since ...`."""
        overdue = inv.due_date < self.today
        return self.p.say("due.has_been" if overdue else "due.is", phrase=self.due(inv))

    def headline(self, inv: InvoiceView) -> str:
        """`G000100002 (October 2026, CNY 4,615.50)`."""
        return self.p.say("invoice.headline", number=inv.number, period=self.p.month(inv.period),
                          total=self.money(inv.total, inv.currency))

    def payment(self, pay: PaymentView, currency: str) -> str:
        return self.p.say("payment.item", amount=self.money(pay.amount, currency), day=self.p.day(pay.paid_on),
                          method=self.method(pay.method), reference=pay.reference)

    def payments(self, inv: InvoiceView) -> str:
        return self.p.say("payment.separator").join(self.payment(pay, inv.currency) for pay in inv.payments)

    def payment_state(self, inv: InvoiceView) -> str:
        """A sentence about what was paid, starting with "It"."""
        if not inv.payments:
            return self.p.say("payment.unpaid", due=self.is_due(inv))
        if inv.overpaid:
            return self.p.say("payment.paid_twice" if inv.paid_twice else "payment.overpaid",
                              payments=self.payments(inv), extra=self.money(inv.overpaid, inv.currency))
        if inv.is_paid:
            return self.p.say("payment.paid", payments=self.payments(inv))
        return self.p.say("payment.partly", payments=self.payments(inv),
                          open=self.money(inv.outstanding, inv.currency), due=self.is_due(inv))

    def short_state(self, inv: InvoiceView) -> str:
        if inv.overpaid:
            return self.p.say("payment.short_overpaid")
        if inv.is_paid:
            return self.p.say("payment.short_paid")
        if inv.payments:
            return self.p.say("payment.short_partly", open=self.money(inv.outstanding, inv.currency), due=self.due(inv))
        return self.p.say("payment.short_unpaid", due=self.due(inv))

    # ----- invoices -----------------------------------------------------------------------------

    def invoice_summary(self, inv: InvoiceView, latest: bool) -> Reply:
        summary = self.p.say("invoice.summary", number=inv.number, period=self.p.month(inv.period),
                             total=self.money(inv.total, inv.currency), issued=self.p.day(inv.issue_date),
                             state=self.payment_state(inv))
        buttons = [{"title": self.p.say("invoice.see_lines"),
                    "payload": f'/ask_invoice_lines{{"invoice_number":"{inv.number}"}}'},
                   {"title": self.p.say("invoice.why_changed"),
                    "payload": f'/explain_charge{{"invoice_number":"{inv.number}"}}'}]
        return self.reply("invoice.summary", self.p.say("invoice.latest" if latest else "invoice.named", summary=summary),
                          buttons=buttons)

    def several_in_month(self, matches: list[InvoiceView], period: str) -> Reply:
        others = self.p.listing([inv.number for inv in matches[1:]])
        return self.reply("invoice.several_in_month", self.p.say(
            "invoice.several_in_month", count=len(matches), period=self.p.month(period), shown=matches[0].number,
            others=others))

    def invoice_list(self, every: list[InvoiceView], shown: int = INVOICES_LISTED) -> Reply:
        items = [Item(self.p.say("invoice.list_item", number=inv.number, period=self.p.month(inv.period),
                                 total=self.money(inv.total, inv.currency), state=self.short_state(inv)))
                 for inv in every[:shown]]
        footer = ""
        if len(every) > shown:
            footer = self.p.say("invoice.list_more", older=len(every) - shown, example=self.p.month(every[shown].period))
        return self.reply("invoice.list", self.p.say("invoice.list_head", count=len(every)), items, footer)

    def invoice_lines(self, inv: InvoiceView, key: str = "invoice.lines", footer: str = "") -> Reply:
        items = [Item(label=self.line(line.description), value=self.money(line.amount, inv.currency)) for line in inv.lines]
        total = self.p.say("invoice.total", total=self.money(inv.total, inv.currency))
        return self.reply(key, self.p.say("invoice.lines_title", number=inv.number, period=self.p.month(inv.period)),
                          items, "\n".join(p for p in (total, footer) if p))

    def due_of(self, inv: InvoiceView) -> Reply:
        if inv.is_paid:
            text = self.p.say("invoice.due_state_paid", headline=self.headline(inv), due=self.p.day(inv.due_date))
        else:
            text = self.p.say("invoice.due_state", headline=self.headline(inv), state=self.is_due(inv))
        return self.reply("invoice.due", text)

    def payment_of(self, inv: InvoiceView) -> Reply:
        return self.reply("invoice.payment", self.p.say("invoice.payment_state", headline=self.headline(inv),
                                                        state=self.payment_state(inv)))

    def recent_payments(self, recent: list[InvoiceView]) -> Reply:
        items = [Item(self.p.say("invoice.payment_state", headline=self.headline(inv), state=self.payment_state(inv)))
                 for inv in recent]
        return self.reply("invoice.recent_payments", self.p.say("invoice.recent_payments_head"), items)

    # ----- balance, overdue, due dates ----------------------------------------------------------

    def balance(self, bal: Balance, open_refunds: list | tuple = (), refund_state: str = "") -> Reply:
        if not bal.unpaid:
            text, items, footer = self.p.say("balance.nothing_to_pay"), [], []
        else:
            text = self.p.say("balance.head", count=len(bal.unpaid), total=self.money(bal.outstanding, bal.currency))
            items = [Item(self.p.say("balance.item", number=inv.number, period=self.p.month(inv.period),
                                     open=self.money(inv.outstanding, inv.currency), due=self.due(inv)))
                     for inv in bal.unpaid]
            if bal.overdue == bal.outstanding:
                footer = [self.p.say("balance.all_overdue")]
            elif bal.overdue:
                footer = [self.p.say("balance.some_overdue", overdue=self.money(bal.overdue, bal.currency))]
            else:
                footer = [self.p.say("balance.none_overdue")]
        if bal.credit and open_refunds:
            footer.append(self.p.say("balance.credit_with_refund", credit=self.money(bal.credit, bal.currency),
                                     reference=open_refunds[0].reference, state=refund_state))
        elif bal.credit:
            footer.append(self.p.say("balance.credit", credit=self.money(bal.credit, bal.currency)))
        return self.reply("balance", text, items, "\n".join(footer))

    def overdue(self, overdue: list[InvoiceView], bal: Balance) -> Reply:
        if not overdue:
            later = [self.p.say("overdue.not_yet", number=inv.number, open=self.money(inv.outstanding, inv.currency),
                                due=self.is_due(inv)) for inv in bal.unpaid]
            return self.reply("overdue.nothing", self.p.sentences([self.p.say("overdue.nothing"), *later]))
        total = sum((inv.outstanding for inv in overdue), Decimal("0.00"))
        items = [Item(self.p.say("overdue.item_partly" if inv.payments else "overdue.item", number=inv.number,
                                 period=self.p.month(inv.period), open=self.money(inv.outstanding, inv.currency),
                                 total=self.money(inv.total, inv.currency),
                                 days=self.p.say("due.days", count=inv.days_overdue(self.today)),
                                 due=self.p.day(inv.due_date)))
                 for inv in overdue]
        return self.reply("overdue", self.p.say("overdue.head", count=len(overdue),
                                                total=self.money(total, overdue[0].currency)), items)

    def due_dates(self, bal: Balance) -> Reply:
        if not bal.unpaid:
            return self.reply("due_dates.nothing", self.p.say("due_dates.nothing"))
        lines = [self.p.say("due_dates.item", number=inv.number, period=self.p.month(inv.period),
                            open=self.money(inv.outstanding, inv.currency), due=self.is_due(inv)) for inv in bal.unpaid]
        return self.reply("due_dates", "\n".join(lines))

    # ----- payments and credit ------------------------------------------------------------------

    def payments_made(self, made: PaymentsMade) -> Reply:
        if not made.count:
            return self.reply("paid.nothing", self.p.say("paid.nothing"))
        items = []
        for inv, paid in made.by_invoice:
            values = dict(number=inv.number, period=self.p.month(inv.period), amount=self.money(paid, inv.currency),
                          total=self.money(inv.total, inv.currency), extra=self.money(inv.overpaid, inv.currency),
                          open=self.money(inv.outstanding, inv.currency))
            key = "paid.item_credit" if inv.overpaid else ("paid.item" if inv.is_paid else "paid.item_partly")
            items.append(Item(self.p.say(key, **values)))
        last = made.last
        footer = self.p.say("paid.most_recent", amount=self.money(last.amount, made.currency), day=self.p.day(last.paid_on),
                            method=self.method(last.method), reference=last.reference)
        return self.reply("paid", self.p.say("paid.head", count=made.count, total=self.money(made.total, made.currency)),
                          items, footer)

    def credit(self, made: PaymentsMade) -> Reply:
        overpaid = [inv for inv, _ in made.by_invoice if inv.overpaid]
        if not overpaid:
            return self.reply("credit.none", self.p.say("credit.none"))
        items = [Item(self.p.say("credit.item_twice" if inv.paid_twice else "credit.item",
                                 extra=self.money(inv.overpaid, inv.currency), number=inv.number,
                                 total=self.money(inv.total, inv.currency),
                                 days=self.p.listing([self.p.day(p.paid_on) for p in inv.payments])))
                 for inv in overpaid]
        return self.reply("credit", self.p.say("credit.head", credit=self.money(made.credit, made.currency)), items,
                          self.p.say("credit.ask_refund"))

    def payment_not_recorded(self, bal: Balance, made: PaymentsMade, suspended: list[Suspension]) -> Reply:
        last = made.last
        if not bal.unpaid:
            if last:
                return self.reply("not_recorded.all_paid", self.p.say(
                    "not_recorded.all_paid_last", amount=self.money(last.amount, made.currency),
                    day=self.p.day(last.paid_on), reference=last.reference))
            return self.reply("not_recorded.all_paid", self.p.say("not_recorded.all_paid"))
        unpaid = [inv for inv in bal.unpaid if not inv.payments]
        partly = [inv for inv in bal.unpaid if inv.payments]
        sentences = []
        if unpaid:
            listed = self.p.listing([self.p.say("not_recorded.no_payment_item", number=inv.number,
                                                open=self.money(inv.outstanding, inv.currency)) for inv in unpaid])
            sentences.append(self.p.say("not_recorded.no_payment", invoices=listed))
        sentences += [self.p.say("not_recorded.partly", number=inv.number, payments=self.payments(inv),
                                 open=self.money(inv.outstanding, inv.currency)) for inv in partly]
        if last:
            sentences.append(self.p.say("not_recorded.last_payment", day=self.p.day(last.paid_on)))
        sentences.append(self.p.say("not_recorded.how_fast"))
        for s in suspended:
            sentences.append(self.p.say(
                "not_recorded.restore", amount=self.money(s.amount_to_restore, s.currency), subscription=s.subscription,
                business_days=self.business_days(s.reactivation_business_days),
                day=self.p.day(add_business_days(self.today, s.reactivation_business_days))))
        return self.reply("not_recorded", self.p.sentences(sentences))

    # ----- bill changes and charges -------------------------------------------------------------

    def bill_change(self, change: BillChange) -> Reply:
        inv, prev = change.invoice, change.previous
        if prev is None:
            lines = self.invoice_lines(inv)
            return self.reply("change.first_invoice", self.p.say("change.first_invoice", number=inv.number) + "\n"
                              + lines.text, lines.items, lines.footer)
        delta = change.total_delta
        key = "change.more" if delta > 0 else ("change.less" if delta < 0 else "change.same")
        cur = inv.currency
        text = self.p.say(key, period=self.p.month(inv.period), number=inv.number, total=self.money(inv.total, cur),
                          delta=self.money(abs(delta), cur), before=self.p.month(prev.period),
                          before_total=self.money(prev.total, prev.currency))
        just_before = previous_period(inv.period) == prev.period
        items = []
        for c in change.changes:
            if c.previous is None:
                items.append(self.p.say("change.new_this_month" if just_before else "change.new_since",
                                        line=self.line(c.description), amount=self.money(c.current, cur),
                                        before=self.p.month(prev.period)))
            elif c.current is None:
                items.append(self.p.say("change.gone", line=self.line(c.description), amount=self.money(c.previous, cur)))
            else:
                items.append(self.p.say("change.up" if c.delta > 0 else "change.down", line=self.line(c.description),
                                        delta=self.money(abs(c.delta), cur), before_amount=self.money(c.previous, cur),
                                        amount=self.money(c.current, cur)))
        changed = {c.description for c in change.changes}
        unchanged = [self.line(line.description) for line in inv.lines if line.description not in changed]
        footer = self.p.say("change.unchanged", lines=self.p.listing(unchanged)) if unchanged else ""
        return self.reply("change", text, [Item(i) for i in items], footer)

    def charge_meaning(self, description: str) -> str | None:
        key = f"charge.meanings.{description.strip().lower()}"
        return self.p.say(key) if key in self.p.entries else None

    def charge(self, change: BillChange, description: str) -> Reply:
        inv, cur = change.invoice, change.invoice.currency
        amount = sum((line.amount for line in inv.lines if line.description == description), Decimal("0.00"))
        parts = [self.p.say("charge.amount", number=inv.number, period=self.p.month(inv.period), line=self.line(description),
                            amount=self.money(amount, cur))]
        meaning = self.charge_meaning(description)
        if meaning:
            parts.append(self.p.say("charge.meaning", meaning=meaning))
        line = next((c for c in change.changes if c.description == description), None)
        if change.previous is not None:
            before = self.p.month(change.previous.period)
            if line is None:
                parts.append(self.p.say("charge.same_as", before=before))
            elif line.previous is None:
                parts.append(self.p.say("charge.new", line=self.line(description), before=before))
            else:
                parts.append(self.p.say("charge.more" if line.delta > 0 else "charge.less", before=before,
                                        delta=self.money(abs(line.delta), cur),
                                        before_amount=self.money(line.previous, cur)))
        return self.reply("charge", self.p.sentences(parts))

    # ----- subscriptions and policy -------------------------------------------------------------

    def active_subscriptions(self, names: list[str]) -> Reply:
        listed = self.p.listing(names) if names else self.p.say("suspension.none_on_record")
        return self.reply("suspension.active", self.p.say("suspension.active", count=len(names), names=listed))

    def suspension(self, s: Suspension) -> Reply:
        non_payment = s.reason == "non-payment"  # the billing data's code for it
        key = "suspension.suspended" + ("_on" if s.since else "") + ("_non_payment" if non_payment else "")
        parts = [self.p.say(key, subscription=s.subscription, day=self.p.day(s.since) if s.since else "")]
        if s.reason and not non_payment:
            parts.append(self.p.say("suspension.reason_other", reason=s.reason))
        if s.overdue:
            listed = self.p.listing([self.p.say("suspension.restore_item", number=inv.number,
                                                open=self.money(inv.outstanding, inv.currency)) for inv in s.overdue])
            parts.append(self.p.say("suspension.restore", amount=self.money(s.amount_to_restore, s.currency),
                                    invoices=listed))
            restored_by = add_business_days(self.today, s.reactivation_business_days)
            parts.append(self.p.say("suspension.restored_by", day=self.p.day(restored_by),
                                    business_days=self.business_days(s.reactivation_business_days)))
        else:
            parts.append(self.p.say("suspension.restored_within",
                                    business_days=self.business_days(s.reactivation_business_days)))
        return self.reply("suspension", self.p.sentences(parts))

    def policy(self, pol: CustomerPolicy, suspended: bool) -> Reply:
        t = pol.terms
        currency = pol.schedules[0].invoice.currency if pol.schedules else "CNY"
        fee = (self.p.say("policy.late_fee", amount=self.money(t.late_fee, currency)) if t.late_fee
               else self.p.say("policy.no_late_fee"))
        text = self.p.say("policy.terms", partner=t.partner_name, before=t.reminder_days_before_due,
                          after=t.reminder_days_after_due, fee=fee, suspend_after=t.suspend_after_days_overdue,
                          business_days=self.business_days(t.reactivation_business_days))
        if suspended:
            return self.reply("policy", text, footer=self.p.say("policy.suspended_now"))
        items = []
        for s in pol.schedules:
            reminders = [d for d in (s.reminder_before, s.reminder_after) if d >= self.today]
            impact = (self.p.say("policy.impact_later", day=self.p.day(s.access_impacted_on))
                      if s.access_impacted_on > self.today
                      else self.p.say("policy.impact_now", day=self.p.day(s.access_impacted_on)))
            values = dict(number=s.invoice.number, open=self.money(s.invoice.outstanding, s.invoice.currency),
                          due=self.due(s.invoice), impact=impact)
            if reminders:
                items.append(Item(self.p.say("policy.schedule_reminder", reminder=self.p.day(reminders[0]), **values)))
            else:
                items.append(Item(self.p.say("policy.schedule", **values)))
        footer = "" if pol.schedules else self.p.say("policy.all_paid")
        return self.reply("policy", text, items, footer)
