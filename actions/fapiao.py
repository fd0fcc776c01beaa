"""Fapiao requests: which type, for which paid invoice, a summary prefilled from the registered
tax facts to confirm, then the request recorded for the partner (bot.fapiao), who issues it.
Also the customer's requests and their status.

Title, taxpayer ID and email come from the registered facts; a customer who types another one is
checked (python-stdnum for the unified social credit code) and told what is wrong with it.
"""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.base import Context, CustomerAction, CustomerFormValidation, say, tell_fapiao_news
from actions.claims import InvoiceQuestion, latest_intent
from actions.resolution import last_customer
from bot.billing import invoices
from bot.config import load_settings
from bot.db import session_scope
from bot.fapiao import news as fapiao_news
from bot.fapiao import requests as fapiao
from bot.fapiao.checks import check_email, check_tax_id, check_title
from bot.fapiao.policy import tax_profile
from bot.fapiao.views import FapiaoDraft, FapiaoRequestView
from bot.identity import verify_push_token
from bot.nlp.words import email_typed, fapiao_title, fapiao_type_named, tax_id_typed
from bot.replies.reply import Item

logger = logging.getLogger(__name__)

FAPIAO_SLOTS = ("fapiao_type", "fapiao_invoice", "fapiao_confirmed", "fapiao_title", "fapiao_tax_id", "fapiao_email")
# Nothing to ask when the partner takes no requests or the tax facts are missing: the submit
# action says why.
CANNOT_REQUEST = (fapiao.NOT_OFFERED, fapiao.NO_TAX_PROFILE)


def reset_fapiao() -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in FAPIAO_SLOTS]


def draft_of(ctx: Context, slots: dict[str, Any]) -> FapiaoDraft | None:
    if not slots.get("fapiao_type") or not slots.get("fapiao_invoice"):
        return None
    return fapiao.prepare_request(ctx.session, ctx.customer_id, invoice_number=slots["fapiao_invoice"],
                                  fapiao_type=slots["fapiao_type"], today=ctx.today, email=slots.get("fapiao_email"),
                                  title=slots.get("fapiao_title"), tax_id=slots.get("fapiao_tax_id"))


class ValidateFapiaoForm(CustomerFormValidation):
    def name(self) -> str:
        return "validate_fapiao_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker,
                             domain: DomainDict) -> list[str]:
        ctx = self.ctx
        if fapiao.type_problem(ctx.session, ctx.customer_id, "ordinary") in CANNOT_REQUEST:
            return []
        draft = draft_of(ctx, tracker.slots)
        if draft is not None and (draft.existing is not None or draft.problem == fapiao.OTHER_TYPE_REQUESTED):
            return []  # already requested: the submit action gives the first reference
        kind = tracker.get_slot("fapiao_type")
        type_settled = kind and fapiao.type_problem(ctx.session, ctx.customer_id, kind) is None
        if type_settled and not tracker.get_slot("fapiao_invoice") \
                and not fapiao.requestable_invoices(ctx.session, ctx.customer_id):
            return []  # nothing paid is waiting for a fapiao: said by the submit action
        return ["fapiao_type", "fapiao_invoice", "fapiao_confirmed"]

    async def extract_fapiao_type(self, dispatcher, tracker, domain) -> dict[str, Any]:
        named = fapiao_type_named(self.ctx.text)
        if named:
            return {"fapiao_type": named}
        if tracker.get_slot("requested_slot") == "fapiao_type" and latest_intent(self.ctx) == "affirm" \
                and not self.special_possible():
            return {"fapiao_type": "ordinary"}  # "yes" to "shall I request an ordinary one?"
        return {}

    def special_possible(self) -> bool:
        return fapiao.type_problem(self.ctx.session, self.ctx.customer_id, "special") is None

    def validate_fapiao_type(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        problem = fapiao.type_problem(self.ctx.session, self.ctx.customer_id, value)
        if problem:
            tell(dispatcher, self.ctx, problem)
            return {"fapiao_type": None}
        return {"fapiao_type": value}

    async def extract_fapiao_invoice(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return InvoiceQuestion.extract(self.ctx, "fapiao_invoice")

    def validate_fapiao_invoice(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        checked = InvoiceQuestion.validate(value, self.ctx, dispatcher, "fapiao_invoice")
        number = checked.get("fapiao_invoice")
        if number:
            inv = invoices.find_invoice(self.ctx.session, self.ctx.customer_id, number)
            if inv is not None and not inv.is_paid:
                tell(dispatcher, self.ctx, fapiao.INVOICE_UNPAID, number=number)
                return {"fapiao_invoice": None}
        return checked

    async def extract_fapiao_confirmed(self, dispatcher, tracker, domain) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "fapiao_confirmed":
            return {}
        answer = {"affirm": True, "deny": False}.get(latest_intent(self.ctx))
        return {} if answer is None else {"fapiao_confirmed": answer}

    async def get_validation_events(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        """Any turn may carry another title, taxpayer ID or email than the registered ones: each is
        checked, then kept (the summary is shown again) or explained. They are not slots the form
        asks for, so they are set here (Rasa SDK keeps only those)."""
        events = await super().get_validation_events(dispatcher, tracker, domain)
        found: dict[str, Any] = {}
        typed = [text for text in (fapiao_title(self.ctx.text), tax_id_typed(self.ctx.text), email_typed(self.ctx.text))
                 if text]
        for extract in (self.typed_title, self.typed_tax_id, self.typed_email):
            found.update(extract(dispatcher))
        if typed and tracker.get_slot("requested_slot") == "fapiao_confirmed":
            # Answered (kept or explained): the form goes on and shows the summary again, rather
            # than Rasa taking the turn for an unanswered question.
            found.setdefault("fapiao_confirmed", None)
        return events + [SlotSet(slot, value) for slot, value in found.items()]

    def typed_title(self, dispatcher) -> dict[str, Any]:
        typed = fapiao_title(self.ctx.text)
        if not typed:
            return {}
        profile = tax_profile(self.ctx.session, self.ctx.customer_id)
        title, problem = check_title(typed, profile.registered_name, profile.trading_name) if profile else (None, None)
        if problem:
            tell(dispatcher, self.ctx, f"title_{problem}", typed=typed)
            return {}
        return {"fapiao_title": title}

    def typed_tax_id(self, dispatcher) -> dict[str, Any]:
        typed = tax_id_typed(self.ctx.text)
        if not typed:
            return {}
        tax_id, problem = check_tax_id(typed)
        profile = tax_profile(self.ctx.session, self.ctx.customer_id)
        if problem:
            tell(dispatcher, self.ctx, f"tax_id_{problem}", typed=typed)
            return {}
        if profile and tax_id != profile.tax_id:
            tell(dispatcher, self.ctx, fapiao.TAX_ID_NOT_REGISTERED, typed=tax_id)
            return {}
        return {"fapiao_tax_id": tax_id}

    def typed_email(self, dispatcher) -> dict[str, Any]:
        typed = email_typed(self.ctx.text)
        if not typed:
            return {}
        email, problem = check_email(typed)
        if problem:
            tell(dispatcher, self.ctx, f"email_{problem}", typed=typed)
            return {}
        return {"fapiao_email": email}


def tell(dispatcher: CollectingDispatcher, ctx: Context, problem: str, number: str | None = None, typed: str = "") -> None:
    """Why that can't go ahead, in the customer's language."""
    profile = tax_profile(ctx.session, ctx.customer_id)
    registered = ""
    if profile:
        registered = profile.tax_id if problem.startswith("tax_id") else profile.registered_name
    key = f"fapiao.problem.{problem}"
    say(dispatcher, ctx.replies.reply(key, ctx.replies.p.say(key, number=number or "", typed=typed[:40],
                                                             registered=registered)))


class ActionAskFapiaoType(CustomerAction):
    def name(self) -> str:
        return "action_ask_fapiao_type"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        p = ctx.replies.p
        if fapiao.type_problem(ctx.session, ctx.customer_id, "special") is None:
            buttons = [{"title": p.say("fapiao.ordinary_button"), "payload": "ordinary fapiao"},
                       {"title": p.say("fapiao.special_button"), "payload": "special fapiao"}]
            say(dispatcher, ctx.replies.reply("fapiao.ask_type", p.say("fapiao.ask_type"), buttons=buttons))
        else:
            buttons = [{"title": p.say("fapiao.ordinary_button"), "payload": "ordinary fapiao"}]
            say(dispatcher, ctx.replies.reply("fapiao.ask_type", p.say("fapiao.ask_type_ordinary_only"), buttons=buttons))
        return []


class ActionAskFapiaoInvoice(CustomerAction):
    def name(self) -> str:
        return "action_ask_fapiao_invoice"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        p = ctx.replies.p
        buttons = [{"title": p.say("fapiao.invoice_button", number=inv.number, period=p.month(inv.period),
                                   total=p.money(inv.total, inv.currency)), "payload": inv.number}
                   for inv in fapiao.requestable_invoices(ctx.session, ctx.customer_id)[:4]]
        say(dispatcher, ctx.replies.reply("fapiao.ask_invoice", p.say("fapiao.ask_invoice"), buttons=buttons))
        return []


class ActionAskFapiaoConfirmed(CustomerAction):
    def name(self) -> str:
        return "action_ask_fapiao_confirmed"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        draft = draft_of(ctx, ctx.tracker.slots)
        if draft is None or draft.problem:
            if draft is not None:
                tell(dispatcher, ctx, draft.problem, number=ctx.tracker.get_slot("fapiao_invoice"))
            return [SlotSet("fapiao_invoice", None)]
        say(dispatcher, summary(ctx, draft))
        return []


def summary(ctx: Context, draft: FapiaoDraft) -> Any:
    p, inv = ctx.replies.p, draft.invoice
    partner = invoices.partner_name(ctx.session, ctx.customer_id)
    rows = [Item(label=p.say("fapiao.summary_type"),
                 value=p.say("fapiao.type_and_form", type=p.say(f"fapiao.type.{draft.fapiao_type}"),
                             form=p.say(f"fapiao.form.{draft.form}"))),
            Item(label=p.say("fapiao.summary_invoice"),
                 value=p.say("fapiao.invoice_value", number=inv.number, period=p.month(inv.period),
                             total=p.money(inv.total, inv.currency))),
            Item(label=p.say("fapiao.summary_title"), value=draft.title),
            Item(label=p.say("fapiao.summary_tax_id"), value=draft.tax_id)]
    if draft.fapiao_type == "special":
        rows += [Item(label=p.say("fapiao.summary_bank"),
                      value=p.say("fapiao.bank_value", bank=draft.bank_name, account=draft.bank_account)),
                 Item(label=p.say("fapiao.summary_address"),
                      value=p.say("fapiao.address_value", address=draft.address, phone=draft.phone))]
    rows.append(Item(label=p.say("fapiao.summary_email"), value=draft.email))
    footer = p.say("fapiao.summary_footer", partner=partner, business_days=ctx.replies.business_days(
        draft.issue_business_days), day=p.day(draft.due_by))
    return ctx.replies.reply("fapiao.summary", p.say("fapiao.summary_head", partner=partner), rows, footer,
                             buttons=p.buttons("fapiao.confirm"))


def state_of(ctx: Context, request: FapiaoRequestView) -> str:
    p = ctx.replies.p
    partner = invoices.partner_name(ctx.session, ctx.customer_id)
    if request.state == "issued":
        return p.say("fapiao.state_issued", day=p.day(request.issued_on), number=request.fapiao_number)
    if request.state == "rejected":
        return p.say("fapiao.state_rejected", partner=partner, reason=p.say(f"fapiao.reason.{request.reject_reason}"))
    return p.say("fapiao.state_requested", partner=partner, day=p.day(request.due_by))


class ActionSubmitFapiao(CustomerAction):
    def name(self) -> str:
        return "action_submit_fapiao"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        slots, p = ctx.tracker.slots, ctx.replies.p
        cannot = fapiao.type_problem(ctx.session, ctx.customer_id, "ordinary")
        draft = draft_of(ctx, slots)
        if cannot in CANNOT_REQUEST:
            tell(dispatcher, ctx, cannot)
        elif draft is None:
            say(dispatcher, ctx.replies.reply("fapiao.none_requestable", p.say("fapiao.none_requestable")))
        elif draft.existing is not None:
            self.already(dispatcher, ctx, draft.existing, draft.problem)
        elif slots.get("fapiao_confirmed") is not True:
            say(dispatcher, ctx.replies.reply("fapiao.nothing_filed", p.say("fapiao.nothing_filed")))
        else:
            filing = fapiao.file_request(
                ctx.session, ctx.customer_id, invoice_number=slots["fapiao_invoice"], fapiao_type=slots["fapiao_type"],
                today=ctx.today, email=slots.get("fapiao_email"), title=slots.get("fapiao_title"),
                tax_id=slots.get("fapiao_tax_id"), conversation_id=ctx.tracker.sender_id)
            if filing.request is not None and not filing.created:
                self.already(dispatcher, ctx, filing.request, filing.problem)
            elif filing.problem:
                tell(dispatcher, ctx, filing.problem, number=slots["fapiao_invoice"])
            else:
                r = filing.request
                say(dispatcher, ctx.replies.reply("fapiao.filed", p.say(
                    "fapiao.filed", reference=r.reference, partner=invoices.partner_name(ctx.session, ctx.customer_id),
                    type=p.say(f"fapiao.type.{r.fapiao_type}"), number=r.invoice_number, email=r.email,
                    business_days=ctx.replies.business_days(draft.issue_business_days), day=p.day(r.due_by))))
        return reset_fapiao()

    @staticmethod
    def already(dispatcher: CollectingDispatcher, ctx: Context, existing: FapiaoRequestView, problem: str | None) -> None:
        p = ctx.replies.p
        values = dict(type=p.say(f"fapiao.type.{existing.fapiao_type}"), number=existing.invoice_number,
                      reference=existing.reference, partner=invoices.partner_name(ctx.session, ctx.customer_id))
        if problem == fapiao.OTHER_TYPE_REQUESTED:
            say(dispatcher, ctx.replies.reply("fapiao.other_type_requested", p.say("fapiao.other_type_requested", **values)))
        else:
            say(dispatcher, ctx.replies.reply("fapiao.already_requested", p.say(
                "fapiao.already_requested", state=state_of(ctx, existing), **values)))


class ActionShowFapiaoStatus(CustomerAction):
    def name(self) -> str:
        return "action_show_fapiao_status"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        p = ctx.replies.p
        mine = fapiao.requests_for_customer(ctx.session, ctx.customer_id)
        if not mine:
            say(dispatcher, ctx.replies.reply("fapiao.status_none", p.say("fapiao.status_none")))
            return []
        items = [Item(p.say("fapiao.status_item", reference=r.reference, type=p.say(f"fapiao.type.{r.fapiao_type}"),
                            number=r.invoice_number, total=p.money(r.amount, r.currency), state=state_of(ctx, r)))
                 for r in mine]
        say(dispatcher, ctx.replies.reply("fapiao.status", p.say("fapiao.status_head"), items))
        return []


class ActionResetFapiao(Action):
    """After "cancel" inside the form: nothing is filed and nothing is kept."""

    def name(self) -> str:
        return "action_reset_fapiao"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        return reset_fapiao()


class ActionAnnounceFapiaoNews(Action):
    """Run by the worker's push (EXTERNAL_fapiao_news) into a chat that can receive it: staff issued
    or declined a fapiao. A signed push token proves the notice is ours and for this conversation,
    so typing the external intent announces nothing; a notice already shown is not told again."""

    def name(self) -> str:
        return "action_announce_fapiao_news"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        settings = load_settings()
        raw_id = next(tracker.get_latest_entity_values("fapiao_notice"), None)
        if not raw_id or not str(raw_id).isdigit() or not verify_push_token(
                next(tracker.get_latest_entity_values("push_token"), None), tracker.sender_id,
                fapiao_news.push_reference(int(raw_id)), settings):
            logger.warning("ignored fapiao news without a valid push token in %s", tracker.sender_id)
            return []
        try:
            with session_scope(settings.database_url) as session:
                found = fapiao_news.notice_in_conversation(session, int(raw_id), tracker.sender_id)
                if found is None or last_customer(tracker) != found[0]:
                    return []  # told already, or someone else is signed in here now: their next turn
                tell_fapiao_news(dispatcher, session, found[0], tracker, settings, [found[1]])
        except SQLAlchemyError:
            logger.exception("could not announce fapiao notice %s", raw_id)
        return []
