"""A conversation as the agent reads it: the transcript from the Rasa tracker (customer, assistant
and agent turns, with times, and where the assistant was paused and resumed), and a summary: the
topics the customer asked about, the invoices discussed and the customer's open escalations.

Plain functions of the tracker's events and the database, worded in the agent's language."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

from sqlalchemy.orm import Session

from bot.billing.invoices import find_invoice
from bot.billing.parsing import normalize_invoice_number
from bot.escalation.records import escalations_for_customer
from bot.replies.catalogue import Phrases

# Intents that are the conversation's plumbing, not something the customer asked about.
NOT_TOPICS = {"greet", "goodbye", "affirm", "deny", "thank", "inform", "bot_challenge"}
NEWS_PREFIX = "EXTERNAL_"  # pushed news (bot/conversations/push.py), not the customer speaking
INVOICE_ENTITY = "invoice_number"
INVOICE_SLOTS = ("focus_invoice", "dispute_invoice", "refund_invoice", "fapiao_invoice")
OPEN_ESCALATIONS_SHOWN = 10


def _at(event: dict[str, Any]) -> str | None:
    stamp = event.get("timestamp")
    if not isinstance(stamp, (int, float)):
        return None
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="seconds")


def _intent(event: dict[str, Any]) -> str | None:
    name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
    return name if isinstance(name, str) and name else None


def _customer_turns(events: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for event in events:
        if event.get("event") == "user" and not (_intent(event) or "").startswith(NEWS_PREFIX):
            yield event


def agent_name(event: dict[str, Any]) -> str | None:
    """The agent who wrote a bot event (the desk marks their messages `custom.agent.name`)."""
    custom = (event.get("data") or {}).get("custom") or {}
    name = (custom.get("agent") or {}).get("name") if isinstance(custom, dict) else None
    return name if isinstance(name, str) and name else None


def transcript(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Oldest first: {"kind": customer|assistant|agent|paused|resumed, "text", "at", "name"?, "buttons"?}."""
    turns: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        if kind == "user":
            if (_intent(event) or "").startswith(NEWS_PREFIX):
                continue
            turns.append({"kind": "customer", "text": event.get("text") or "", "at": _at(event)})
        elif kind == "bot":
            name = agent_name(event)
            turn = {"kind": "agent" if name else "assistant", "text": event.get("text") or "", "at": _at(event)}
            if name:
                turn["name"] = name
            buttons = (event.get("data") or {}).get("buttons") or []
            if buttons:
                turn["buttons"] = [str(b.get("title", "")) for b in buttons if isinstance(b, dict)]
            turns.append(turn)
        elif kind in ("pause", "resume"):
            turns.append({"kind": "paused" if kind == "pause" else "resumed", "at": _at(event)})
    return turns


def topics(events: list[dict[str, Any]], phrases: Phrases) -> list[dict[str, str]]:
    """What the customer asked about, in the order first asked, each once."""
    seen: list[str] = []
    for event in _customer_turns(events):
        intent = _intent(event)
        if intent and intent not in NOT_TOPICS and intent not in seen:
            seen.append(intent)
    return [{"intent": intent, "label": phrases.say(f"console.topic.{intent}")
             if f"console.topic.{intent}" in phrases.entries else phrases.say("console.topic_other", intent=intent)}
            for intent in seen]


def invoice_numbers(events: list[dict[str, Any]]) -> list[str]:
    """Invoice numbers the customer gave (entities) or the assistant put in focus (slots), in order."""
    found: list[str] = []

    def note(value: Any) -> None:
        number = normalize_invoice_number(value) if isinstance(value, str) else None
        if number and number not in found:
            found.append(number)

    for event in events:
        if event.get("event") == "user":
            for entity in (event.get("parse_data") or {}).get("entities") or []:
                if isinstance(entity, dict) and entity.get("entity") == INVOICE_ENTITY:
                    note(entity.get("value"))
        elif event.get("event") == "slot" and event.get("name") in INVOICE_SLOTS:
            note(event.get("value"))
    return found


def summary(session: Session, customer_id: str | None, events: list[dict[str, Any]] | None,
            phrases: Phrases) -> dict[str, Any]:
    """Topics and invoices need the transcript (None: it could not be read); escalations do not."""
    invoices = []
    for number in invoice_numbers(events or []):
        on_account = bool(customer_id) and find_invoice(session, customer_id, number) is not None
        invoices.append({"number": number, "on_account": on_account,
                         "label": number if on_account else phrases.say("console.not_on_account", number=number)})
    escalations = []
    if customer_id:
        for view in escalations_for_customer(session, customer_id, limit=OPEN_ESCALATIONS_SHOWN):
            if not view.is_open:
                continue
            values = {"reference": view.reference, "kind": phrases.say(f"console.escalation_kind.{view.kind}"),
                      "state": phrases.say(f"console.escalation_state.{view.progress}")}
            label = (phrases.say("console.escalation_invoice", number=view.invoice_number, **values)
                     if view.invoice_number else phrases.say("console.escalation_item", **values))
            escalations.append({"reference": view.reference, "kind": view.kind, "progress": view.progress,
                                "invoice_number": view.invoice_number, "label": label})
    return {"topics": topics(events or [], phrases), "invoices": invoices, "escalations": escalations}
