"""The customer-facing wording of billing answers. Amounts and dates go through bot.formatting."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.billing.invoices import Balance, BillChange, PaymentsMade
from bot.billing.parsing import previous_period
from bot.billing.policy import CustomerPolicy, Suspension, add_business_days
from bot.billing.charges import explain_charge
from bot.billing.views import InvoiceView
from bot.escalation.wording import KIND_NAMES
from bot.config import Settings
from bot.formatting import day, money, month

METHOD_NAMES = {"bank_transfer": "bank transfer", "card": "card", "alipay": "Alipay", "wechat_pay": "WeChat Pay"}


def business_days(count: int) -> str:
    return "one business day" if count == 1 else f"{count} business days"


class Renderer:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.today = settings.today()

    def money(self, amount: Decimal, currency: str) -> str:
        return money(amount, currency, self.settings)

    def day(self, value: date) -> str:
        return day(value, self.settings)

    def month(self, period: str) -> str:
        return month(period, self.settings)

    def due(self, inv: InvoiceView) -> str:
        """A noun phrase: `due November 30, 2026 (in 5 days)`, `overdue since September 30, 2026 (56 days)`."""
        days = (inv.due_date - self.today).days
        if days > 1:
            return f"due {self.day(inv.due_date)} (in {days} days)"
        if days == 1:
            return f"due tomorrow, {self.day(inv.due_date)}"
        if days == 0:
            return f"due today, {self.day(inv.due_date)}"
        return f"overdue since {self.day(inv.due_date)} ({-days} day{'s' if days != -1 else ''})"

    def is_due(self, inv: InvoiceView) -> str:
        """A predicate: `is due ...` or `has been overdue since ...`."""
        phrase = self.due(inv)
        return f"has been {phrase}" if phrase.startswith("overdue") else f"is {phrase}"

    def payments(self, inv: InvoiceView) -> str:
        parts = [f"{self.money(p.amount, inv.currency)} on {self.day(p.paid_on)} by "
                 f"{METHOD_NAMES.get(p.method, p.method)} (reference {p.reference})" for p in inv.payments]
        return "; ".join(parts)

    def payment_state(self, inv: InvoiceView) -> str:
        """A sentence about what was paid, starting with "It"."""
        if not inv.payments:
            return f"It hasn't been paid yet and {self.is_due(inv)}."
        if inv.overpaid:
            return (f"It was {'paid twice' if inv.paid_twice else 'overpaid'}: we received {self.payments(inv)}. That is "
                    f"{self.money(inv.overpaid, inv.currency)} more than the invoice; the extra is a credit on "
                    "your account, and you can ask for a refund.")
        if inv.is_paid:
            return f"It is paid in full: {self.payments(inv)}."
        return (f"We received {self.payments(inv)}; {self.money(inv.outstanding, inv.currency)} is still open and "
                f"{self.is_due(inv)}.")

    def invoice_summary(self, inv: InvoiceView, lead: str = "Invoice") -> str:
        return (f"{lead} {inv.number} for {self.month(inv.period)}: {self.money(inv.total, inv.currency)}, "
                f"issued {self.day(inv.issue_date)}. {self.payment_state(inv)}")

    def invoice_list(self, all_invoices: list[InvoiceView], shown: int) -> str:
        items = "\n".join(f"- {inv.number} ({self.month(inv.period)}): {self.money(inv.total, inv.currency)}, "
                          f"{self.short_state(inv)}" for inv in all_invoices[:shown])
        count = "1 invoice" if len(all_invoices) == 1 else f"{len(all_invoices)} invoices"
        text = f"You have {count}, newest first:\n{items}"
        if len(all_invoices) > shown:
            text += (f"\n...and {len(all_invoices) - shown} older ones. Ask for one by number or month "
                     f"(for example \"the invoice for {self.month(all_invoices[shown].period)}\").")
        return text

    def short_state(self, inv: InvoiceView) -> str:
        if inv.overpaid:
            return "paid more than once"
        if inv.is_paid:
            return "paid"
        if inv.payments:
            return f"partly paid, {self.money(inv.outstanding, inv.currency)} open, {self.due(inv)}"
        return f"unpaid, {self.due(inv)}"

    def invoice_lines(self, inv: InvoiceView) -> str:
        lines = "\n".join(f"- {l.description}: {self.money(l.amount, inv.currency)}" for l in inv.lines)
        return (f"Invoice {inv.number} ({self.month(inv.period)}):\n{lines}\n"
                f"Total: {self.money(inv.total, inv.currency)}")

    def balance(self, bal: Balance, open_refunds: list | tuple = ()) -> str:
        if not bal.unpaid:
            text = "You have nothing to pay: all your invoices are paid."
        else:
            count = len(bal.unpaid)
            items = "\n".join(f"- {inv.number} ({self.month(inv.period)}): {self.money(inv.outstanding, inv.currency)}, "
                              f"{self.due(inv)}" for inv in bal.unpaid)
            if bal.overdue == bal.outstanding:
                overdue = " All of it is overdue."
            elif bal.overdue:
                overdue = f" {self.money(bal.overdue, bal.currency)} of it is overdue."
            else:
                overdue = " Nothing is overdue."
            text = (f"Your balance is {self.money(bal.outstanding, bal.currency)}, on {count} unpaid "
                    f"invoice{'s' if count > 1 else ''}:\n{items}\n{overdue.strip()}")
        if bal.credit and open_refunds:
            refund = open_refunds[0]
            text += (f"\nYou also have a credit of {self.money(bal.credit, bal.currency)} from a payment received "
                     f"more than once; your refund request {refund.reference} for it is "
                     f"{refund.state_in_plain_words}.")
        elif bal.credit:
            text += (f"\nYou also have a credit of {self.money(bal.credit, bal.currency)} from a payment "
                     "received more than once; ask me for a refund if you'd like it back.")
        return text

    def overdue(self, overdue: list[InvoiceView], bal: Balance) -> str:
        if not overdue:
            text = "Nothing is overdue."
            if bal.unpaid:
                text += " " + " ".join(f"{inv.number} ({self.money(inv.outstanding, inv.currency)}) {self.is_due(inv)}."
                                       for inv in bal.unpaid)
            return text
        total = sum((inv.outstanding for inv in overdue), Decimal("0.00"))
        items = "\n".join(f"- {inv.number} ({self.month(inv.period)}): {self.money(inv.outstanding, inv.currency)}"
                          f"{' still open of ' + self.money(inv.total, inv.currency) if inv.payments else ''}, "
                          f"{self.days(inv.days_overdue(self.today))} overdue (it was due {self.day(inv.due_date)})"
                          for inv in overdue)
        head = ("1 invoice is overdue" if len(overdue) == 1
                else f"{len(overdue)} invoices are overdue, {self.money(total, overdue[0].currency)} in all")
        return f"{head}:\n{items}"

    @staticmethod
    def days(count: int) -> str:
        return "1 day" if count == 1 else f"{count} days"

    def payments_made(self, made: PaymentsMade) -> str:
        if not made.count:
            return "We have no payments from you on record yet."
        count = "1 payment" if made.count == 1 else f"{made.count} payments"
        items = []
        for inv, paid in made.by_invoice:
            note = ""
            if inv.overpaid:
                note = (f" (the invoice was {self.money(inv.total, inv.currency)}: "
                        f"{self.money(inv.overpaid, inv.currency)} of it is a credit)")
            elif not inv.is_paid:
                note = f" (partly: {self.money(inv.outstanding, inv.currency)} of it is still open)"
            items.append(f"- towards {inv.number} ({self.month(inv.period)}): {self.money(paid, inv.currency)}{note}")
        last = made.last
        return (f"You have paid {self.money(made.total, made.currency)} in all, in {count}:\n" + "\n".join(items)
                + f"\nThe most recent: {self.money(last.amount, made.currency)} on {self.day(last.paid_on)} by "
                  f"{METHOD_NAMES.get(last.method, last.method)} (reference {last.reference}).")

    def credit(self, made: PaymentsMade) -> str:
        overpaid = [inv for inv, _ in made.by_invoice if inv.overpaid]
        if not overpaid:
            return ("You have no credit on your account: we haven't received more than your invoices asked for. "
                    "Ask me for your balance to see what is still open.")
        items = "\n".join(f"- {self.money(inv.overpaid, inv.currency)}: invoice {inv.number} "
                          f"({self.money(inv.total, inv.currency)}) was paid {self.payment_dates(inv)}" for inv in overpaid)
        return (f"You have a credit of {self.money(made.credit, made.currency)}:\n{items}\n"
                "Ask me for a refund if you'd like it back.")

    def payment_dates(self, inv: InvoiceView) -> str:
        dates = [self.day(p.paid_on) for p in inv.payments]
        return ("twice, on " if inv.paid_twice else "on ") + " and ".join(dates)

    def payment_not_recorded(self, bal: Balance, made: PaymentsMade, suspended: list[Suspension]) -> str:
        if not bal.unpaid:
            last = made.last
            text = "All your invoices are paid"
            if last:
                text += (f": the most recent payment we recorded is {self.money(last.amount, made.currency)} on "
                         f"{self.day(last.paid_on)} (reference {last.reference})")
            return text + "."
        unpaid = [inv for inv in bal.unpaid if not inv.payments]
        partly = [inv for inv in bal.unpaid if inv.payments]
        sentences = []
        if unpaid:
            items = ", ".join(f"{inv.number} ({self.money(inv.outstanding, inv.currency)})" for inv in unpaid)
            sentences.append(f"No payment for {items} is on record yet")
        for inv in partly:
            sentences.append(f"{inv.number} is partly paid: we received {self.payments(inv)}, and "
                             f"{self.money(inv.outstanding, inv.currency)} is still open")
        text = "; ".join(sentences)
        if made.last:
            text += f"; the last payment we recorded was on {self.day(made.last.paid_on)}"
        text += (". A bank transfer usually shows on your account within one business day of reaching the bank; "
                 "Alipay and WeChat Pay within a few hours. Quoting the invoice number as the payment reference "
                 "gets it matched fastest.")
        for s in suspended:
            restored_by = add_business_days(self.today, s.reactivation_business_days)
            text += (f" Once the overdue {self.money(s.amount_to_restore, s.currency)} is recorded, your "
                     f"{s.subscription} subscription is restored within {business_days(s.reactivation_business_days)}: "
                     f"for a payment recorded today, by {self.day(restored_by)}.")
        return text

    def due_dates(self, bal: Balance) -> str:
        if not bal.unpaid:
            return "Nothing is due right now: all your invoices are paid."
        return "\n".join(f"{inv.number} ({self.month(inv.period)}, {self.money(inv.outstanding, inv.currency)}) "
                         f"{self.is_due(inv)}." for inv in bal.unpaid)

    def bill_change(self, change: BillChange) -> str:
        inv, prev = change.invoice, change.previous
        if prev is None:
            return (f"{inv.number} is your first invoice, so there is nothing to compare it with.\n"
                    + self.invoice_lines(inv))
        delta = change.total_delta
        if delta > 0:
            head = f"more than {self.month(prev.period)}"
        elif delta < 0:
            head = f"less than {self.month(prev.period)}"
        else:
            head = f"the same as {self.month(prev.period)}"
        amount = f"{self.money(abs(delta), inv.currency)} " if delta else ""
        text = (f"Your {self.month(inv.period)} invoice {inv.number} is {self.money(inv.total, inv.currency)}, "
                f"{amount}{head} ({self.money(prev.total, prev.currency)}).")
        just_before = previous_period(inv.period) == prev.period
        new = "new this month" if just_before else f"not on the {self.month(prev.period)} invoice"
        for c in change.changes:
            if c.previous is None:
                text += f"\n- {c.description} is {new}: {self.money(c.current, inv.currency)}."
            elif c.current is None:
                text += f"\n- {c.description} ({self.money(c.previous, inv.currency)} last time) is gone."
            else:
                direction = "up" if c.delta > 0 else "down"
                text += (f"\n- {c.description} went {direction} by {self.money(abs(c.delta), inv.currency)}, "
                         f"from {self.money(c.previous, inv.currency)} to {self.money(c.current, inv.currency)}.")
        unchanged = [l.description for l in inv.lines if l.description not in {c.description for c in change.changes}]
        if unchanged:
            text += f"\nUnchanged: {', '.join(unchanged)}."
        return text

    def charge(self, change: BillChange, description: str) -> str:
        inv = change.invoice
        amount = sum((l.amount for l in inv.lines if l.description == description), Decimal("0.00"))
        text = f"On invoice {inv.number} ({self.month(inv.period)}), {description} is {self.money(amount, inv.currency)}."
        meaning = explain_charge(description)
        if meaning:
            text += f" It is {meaning}."
        line = next((c for c in change.changes if c.description == description), None)
        if change.previous is not None:
            before = self.month(change.previous.period)
            if line is None:
                text += f" It is the same as in {before}."
            elif line.previous is None:
                text += f" It is new: there was no {description} charge in {before}."
            else:
                direction = "more" if line.delta > 0 else "less"
                text += (f" That is {self.money(abs(line.delta), inv.currency)} {direction} than in {before} "
                         f"({self.money(line.previous, inv.currency)}).")
        return text

    def suspension(self, s: Suspension) -> str:
        since = f" on {self.day(s.since)}" if s.since else ""
        reason = f" for {s.reason}" if s.reason else ""
        text = f"Your {s.subscription} subscription was suspended{since}{reason}."
        if s.overdue:
            items = ", ".join(f"{inv.number} {self.money(inv.outstanding, inv.currency)}" for inv in s.overdue)
            text += (f" To restore it, pay the overdue balance of {self.money(s.amount_to_restore, s.currency)} "
                     f"({items}).")
        text += f" Service is restored within {business_days(s.reactivation_business_days)} after the payment is received"
        restored_by = add_business_days(self.today, s.reactivation_business_days)
        text += f": if it reaches us today, by {self.day(restored_by)}." if s.overdue else "."
        return text

    def policy(self, pol: CustomerPolicy, suspended: bool) -> str:
        t = pol.terms
        currency = pol.schedules[0].invoice.currency if pol.schedules else "CNY"
        fee = f"a late fee of {self.money(t.late_fee, currency)}" if t.late_fee else "no late fee"
        text = (f"The payment policy of {t.partner_name}: a reminder {t.reminder_days_before_due} days before an invoice is due, "
                f"and another {t.reminder_days_after_due} days after the due date if it is still unpaid. There is {fee}. "
                f"If an invoice stays unpaid {t.suspend_after_days_overdue} days after its due date, the subscription is "
                f"suspended; it is reactivated within {business_days(t.reactivation_business_days)} of payment.")
        if suspended:
            return text + "\nYour subscription is suspended at the moment; ask me how to restore it."
        for s in pol.schedules:
            reminders = [d for d in (s.reminder_before, s.reminder_after) if d >= self.today]
            reminder_text = (f"the next reminder is on {self.day(reminders[0])}, and " if reminders else "")
            impact = (f"access would be affected from {self.day(s.access_impacted_on)} if it stays unpaid"
                      if s.access_impacted_on > self.today
                      else f"access can be suspended at any time (since {self.day(s.access_impacted_on)})")
            text += (f"\nFor your invoice {s.invoice.number} ({self.money(s.invoice.outstanding, s.invoice.currency)}, "
                     f"{self.due(s.invoice)}): {reminder_text}{impact}.")
        if not pol.schedules:
            text += "\nAll your invoices are paid, so none of this applies to you right now."
        return text

    def resolution_news(self, notice, note: str | None) -> str:
        """"News on your dispute ESC-...: 21Vianet has closed it with this answer: ..." Closed, not
        "resolved": their answer may be that the charge is correct, so it is quoted, not judged."""
        params = notice.params
        kind = KIND_NAMES.get(params.get("kind"), "request")
        by_vianet = params.get("resolved_by") == "vianet"
        staff = params.get("kind") == "partner_report"
        who = "21Vianet" if by_vianet else ("your team" if staff else "your provider's billing team")
        about = f" about invoice {params['invoice_number']}" if params.get("invoice_number") else ""
        if note and by_vianet:
            return f"News on your {kind} {notice.reference}{about}: {who} has closed it with this answer: \"{note}\""
        if by_vianet:
            return (f"News on your {kind} {notice.reference}{about}: {who} has closed it without giving an answer; "
                    "your provider's billing team can tell you more.")
        return f"News on your {kind} {notice.reference}{about}: {who} has closed it."
