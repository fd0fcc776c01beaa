"""Partner staff and fapiao from Slack or Teams: the requests waiting, and marking one issued
("issue FP-7K3M9Q 26311000000012345678"). The customer is told in their chat (pushed by the
worker, or on their next turn). Declining stays with the CLI for now (`python -m bot.fapiao reject`)."""
from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.base import say
from actions.staff import StaffAction, StaffContext
from bot.billing.invoices import customer_name
from bot.fapiao import staff as fapiao_staff
from bot.fapiao.checks import number_in, reference_in
from bot.partner import audit
from bot.replies.reply import Item


class ActionPartnerFapiaoQueue(StaffAction):
    def name(self) -> str:
        return "action_partner_fapiao_queue"

    def answer(self, dispatcher: CollectingDispatcher, ctx: StaffContext) -> list[dict[str, Any]]:
        r, p = ctx.replies, ctx.replies.p
        waiting = fapiao_staff.fapiao_queue(ctx.session, ctx.partner_id, ctx.settings.today())
        if not waiting:
            say(dispatcher, r.reply("staff.fapiao.none", p.say("staff.fapiao.none")))
            return []
        items = [Item(p.say("staff.fapiao.item_late" if w.overdue else "staff.fapiao.item",
                            reference=w.request.reference,
                            customer=p.say("staff.customer", name=w.customer_name, customer_id=w.request.customer_id),
                            type=p.say(f"fapiao.type.{w.request.fapiao_type}"), number=w.request.invoice_number,
                            amount=r.money(w.request.amount, w.request.currency),
                            age=p.say("due.days", count=w.age_days), due=p.day(w.request.due_by)))
                 for w in waiting]
        say(dispatcher, r.reply("staff.fapiao", p.say("staff.fapiao.title", count=len(waiting)), items,
                                footer=p.say("staff.fapiao.how_to_issue", reference=waiting[0].request.reference)))
        return []


class ActionPartnerFapiaoIssue(StaffAction):
    def name(self) -> str:
        return "action_partner_fapiao_issue"

    def answer(self, dispatcher: CollectingDispatcher, ctx: StaffContext) -> list[dict[str, Any]]:
        r, p = ctx.replies, ctx.replies.p
        if ctx.refuse_read_only(dispatcher, "issue_fapiao"):
            return []
        reference, number = reference_in(ctx.text), number_in(ctx.text)
        if not reference or not number:
            say(dispatcher, r.reply("staff.fapiao.which", p.say("staff.fapiao.which")))
            return []
        today = ctx.settings.today()
        before = fapiao_staff.request_for_partner(ctx.session, reference, ctx.partner_id)
        try:
            issued = fapiao_staff.issue_request(ctx.session, reference, ctx.partner_id, number=number,
                                                staff_name=ctx.caller.staff_name, today=today)
        except fapiao_staff.FapiaoError as problem:
            key = f"staff.fapiao.problem.{problem.code}"
            key = key if key in p.entries else "staff.fapiao.problem.number_wrong_length"
            say(dispatcher, r.reply(key, p.say(key, reference=reference, fapiao_number=number, year=today.year,
                                               prefix=f"{today.year % 100:02d}")))
            return []
        if issued is None:
            say(dispatcher, r.reply("staff.fapiao.not_found", p.say("staff.fapiao.not_found", reference=reference)))
            return []
        if before is None or before.state != issued.state:  # a resent command changes and records nothing
            audit.record(ctx.session, ctx.partner_id, actor=ctx.caller.staff_name, actor_id=ctx.caller.staff_id,
                         action=audit.FAPIAO_ISSUED, customer_id=issued.customer_id, subject=issued.reference,
                         reference=issued.reference, fapiao_number=issued.fapiao_number)
        name = customer_name(ctx.session, issued.customer_id) or issued.customer_id
        say(dispatcher, r.reply("staff.fapiao.issued", p.say(
            "staff.fapiao.issued", reference=issued.reference, fapiao_number=issued.fapiao_number,
            day=p.day(issued.issued_on), customer=p.say("staff.customer", name=name, customer_id=issued.customer_id))))
        return []
