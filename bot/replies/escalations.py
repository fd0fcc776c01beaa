"""Disputes, refund requests and reports as replies: filing, status, and the news that one closed.

Never mentions retries, upstream errors or internal states: the customer learns who has their
problem and what happens next. `upstream` texts are what 21Vianet receives, in its language.
"""
from __future__ import annotations

from bot.billing import disputes
from bot.billing.disputes import Assessment
from bot.escalation.views import EscalationView, NotificationView
from bot.replies.billing import BillingReplies
from bot.replies.reply import Item, Reply


class EscalationReplies(BillingReplies):
    def kind(self, kind: str | None) -> str:
        key = f"ticket.kind.{kind}"
        return self.p.say(key if key in self.p.entries else "ticket.kind.dispute")

    def state(self, escalation: EscalationView) -> str:
        if escalation.progress == "closed" and escalation.closed_at is not None:
            return self.p.say("ticket.state.closed_on", day=self.p.day(escalation.closed_at.date()))
        return self.p.say(f"ticket.state.{escalation.progress}")

    def promise(self, can_push: bool) -> str:
        """"I'll tell you here when it is resolved" only where news reaches this chat by itself."""
        return self.p.say("claim.promise_here" if can_push else "claim.promise_next_visit")

    # ----- filing -------------------------------------------------------------------------------

    def claim_what(self, a: Assessment, charge: str) -> str:
        inv = a.invoice
        if a.line:
            return self.p.say("claim.what_line", number=inv.number, period=self.p.month(inv.period),
                              line=self.line(a.line.description), amount=self.money(a.line.amount, inv.currency))
        special = {disputes.ALREADY_PAID: "claim.already_paid", disputes.CHARGED_TWICE: "claim.charged_twice",
                   disputes.WHOLE_INVOICE: "claim.whole_invoice"}.get(charge)
        return self.p.say("claim.what", number=inv.number, period=self.p.month(inv.period),
                          charge=self.p.say(special) if special else charge)

    def plan(self, a: Assessment, partner: str) -> str:
        inv = a.invoice
        if a.outcome == disputes.PARTNER_REFUND:
            return self.p.say("claim.plan_refund", received=self.money(inv.received, inv.currency), number=inv.number,
                              extra=self.money(a.amount, inv.currency), partner=partner)
        if a.outcome == disputes.PARTNER_CORRECTION:
            return self.p.say("claim.plan_correction", partner=partner)
        return self.p.say("claim.plan_vianet", partner=partner)

    def confirm_dispute(self, a: Assessment, partner: str, charge: str, details: str | None) -> Reply:
        what = self.claim_what(a, charge)
        summary = self.p.say("claim.what_with_words", what=what, words=details) if details else what
        return self.reply("claim.confirm_dispute",
                          self.p.say("claim.confirm_dispute", plan=self.plan(a, partner), summary=summary),
                          buttons=self.p.buttons("claim.confirm_dispute"))

    def confirm_refund(self, a: Assessment, partner: str) -> Reply:
        return self.reply("claim.confirm_refund", self.p.say("claim.confirm_refund", plan=self.plan(a, partner)),
                          buttons=self.p.buttons("claim.confirm_refund"))

    def settled(self, a: Assessment) -> Reply:
        inv = a.invoice
        if a.outcome == disputes.SETTLED_PAID:
            return self.reply("claim.settled_paid", self.p.say("claim.settled_paid", number=inv.number,
                                                               payments=self.payments(inv)))
        lines = self.invoice_lines(inv, "claim.settled_once", footer=self.p.say("claim.settled_once_footer"))
        return Reply(lines.key, lines.language, self.p.say("claim.settled_once", number=inv.number) + "\n" + lines.text,
                     lines.items, lines.footer)

    def nothing_to_refund(self, a: Assessment) -> Reply:
        inv = a.invoice
        if inv.payments:
            return self.reply("claim.nothing_to_refund", self.p.say("claim.nothing_to_refund_paid", number=inv.number,
                                                                    payments=self.payments(inv)))
        return self.reply("claim.nothing_to_refund", self.p.say("claim.nothing_to_refund_unpaid", number=inv.number))

    def filed(self, escalation: EscalationView, partner: str, can_push: bool) -> Reply:
        promise = self.promise(can_push)
        if not escalation.created:
            return self.reply("claim.already_reported", self.p.say(
                "claim.already_reported", reference=escalation.reference, state=self.state(escalation), promise=promise))
        key = "claim.filed_vianet" if escalation.route == "vianet" else "claim.filed_partner"
        return self.reply(key, self.p.say(key, reference=escalation.reference, partner=partner, promise=promise))

    # ----- status -------------------------------------------------------------------------------

    def ticket_what(self, e: EscalationView) -> str:
        if e.kind == "partner_report":
            return self.p.say("ticket.what_reported")
        if e.amount is not None and e.currency and e.invoice_number:
            return self.p.say("ticket.what_amount", kind=self.kind(e.kind), number=e.invoice_number,
                              amount=self.money(e.amount, e.currency))
        return self.p.say("ticket.what_invoice", kind=self.kind(e.kind), number=e.invoice_number or "-")

    def tickets(self, mine: list[tuple[EscalationView, str | None]]) -> Reply:
        """Each escalation with 21Vianet's answer, in their words, when it is closed with one."""
        if not mine:
            return self.reply("no_tickets", self.p.say("no_tickets"))
        items = [Item(self.p.say("ticket.item_answer" if answer else "ticket.item", reference=e.reference,
                                 what=self.ticket_what(e), state=self.state(e), answer=answer or ""))
                 for e, answer in mine]
        return self.reply("ticket.list", self.p.say("ticket.head"), items)

    # ----- news ---------------------------------------------------------------------------------

    def news(self, notice: NotificationView, note: str | None, for_staff: bool = False) -> Reply:
        """"News on your dispute ESC-...: 21Vianet has closed it with this answer: ...". Closed, not
        "resolved": their answer may be that the charge is correct, so it is quoted, not judged."""
        params = notice.params
        about = self.p.say("news.about_invoice", number=params["invoice_number"]) if params.get("invoice_number") else ""
        values = dict(kind=self.kind(params.get("kind")), reference=notice.reference, about=about, answer=note or "")
        if params.get("resolved_by") == "vianet":
            key = "news.closed_with_answer" if note else "news.closed_without_answer"
        else:
            key = "news.closed_by_staff" if params.get("kind") == "partner_report" else "news.closed_by_partner"
        footer = self.p.say("news.tell_customer") if for_staff else ""
        return self.reply("news", self.p.say(key, **values), footer=footer)

    def answer_recorded(self, reference: str, solved: bool, can_push: bool) -> Reply:
        if solved:
            return self.reply("news.solved", self.p.say("news.solved", reference=reference))
        return self.reply("news.not_solved", self.p.say("news.not_solved", reference=reference,
                                                        promise=self.promise(can_push)))

    # ----- partner staff ------------------------------------------------------------------------

    def staff_filed(self, escalation: EscalationView, customer: str) -> Reply:
        if escalation.created:
            return self.reply("staff.filed", self.p.say("staff.filed", reference=escalation.reference, customer=customer))
        return self.reply("staff.already_reported", self.p.say("staff.already_reported", reference=escalation.reference,
                                                               state=self.state(escalation)))

