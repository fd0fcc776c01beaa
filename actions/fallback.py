"""When the model is unsure: offer the two likeliest topics as buttons, not a flat "I didn't get that"."""
from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

# Intents worth offering, with the button a customer would recognise.
TOPIC_TITLES = {
    "ask_invoice": "See an invoice",
    "ask_invoice_lines": "See invoice line items",
    "ask_balance": "Check my balance",
    "ask_overdue": "What is overdue?",
    "ask_payments_made": "What have I paid?",
    "ask_credit": "Do I have a credit?",
    "ask_due_date": "When is my bill due?",
    "ask_payment_status": "Was my payment received?",
    "ask_payment_methods": "How can I pay?",
    "explain_charge": "Why did my bill change?",
    "dispute_charge": "Dispute a charge",
    "request_refund": "Ask for a refund",
    "subscription_suspended": "My subscription is suspended",
    "ask_collections_policy": "Late payment policy",
    "ticket_status": "Status of my request",
    "request_human": "Talk to a person",
    "ask_capabilities": "What can you do?",
}
OFFERED = 2


def likeliest_topics(tracker: Tracker, count: int = OFFERED) -> list[str]:
    ranking = (tracker.latest_message or {}).get("intent_ranking") or []
    names = [entry.get("name") for entry in ranking]
    return [name for name in names if name in TOPIC_TITLES][:count]


class ActionOfferTopics(Action):
    def name(self) -> str:
        return "action_offer_topics"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        topics = likeliest_topics(tracker)
        if not topics:
            dispatcher.utter_message(response="utter_default")
            return []
        # Keep what the message named (an invoice, a month), so the button answers about it.
        named = {e["entity"]: e["value"] for e in (tracker.latest_message or {}).get("entities") or []
                 if e.get("entity") in ("invoice_number", "billing_period")}
        suffix = json.dumps(named, ensure_ascii=False) if named else ""
        buttons = [{"title": TOPIC_TITLES[name], "payload": f"/{name}{suffix}"} for name in topics]
        buttons.append({"title": "Something else", "payload": "/ask_capabilities"})
        dispatcher.utter_message(text="Sorry, I'm not sure I understood. Did you mean one of these?", buttons=buttons)
        return []
