"""When the model is unsure: offer the two likeliest topics as buttons, not a flat "I didn't get that";
unsure a second time in a row, bring in a person instead of a second "did you mean"."""
from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.base import replies_for, say
from actions.handoff import NOT_UNDERSTOOD, hand_off
from bot.config import load_settings

# Intents worth offering, as buttons a customer would recognise (titles: `fallback.topic.<intent>`).
TOPICS = ("ask_invoice", "ask_invoice_lines", "ask_balance", "ask_overdue", "ask_payments_made", "ask_credit",
          "ask_due_date", "ask_payment_status", "ask_payment_methods", "explain_charge", "dispute_charge",
          "request_refund", "subscription_suspended", "ask_collections_policy", "ticket_status", "request_human",
          "ask_capabilities")
OFFERED = 2
FALLBACK_INTENT = "nlu_fallback"


def likeliest_topics(tracker: Tracker, count: int = OFFERED) -> list[str]:
    ranking = (tracker.latest_message or {}).get("intent_ranking") or []
    names = [entry.get("name") for entry in ranking]
    return [name for name in names if name in TOPICS][:count]


def misunderstood_twice(tracker: Tracker) -> bool:
    """This message and the one before it were both beyond the model."""
    intents = [((e.get("parse_data") or {}).get("intent") or {}).get("name")
               for e in tracker.events if e.get("event") == "user"]
    return intents[-2:] == [FALLBACK_INTENT, FALLBACK_INTENT]


class ActionOfferTopics(Action):
    def name(self) -> str:
        return "action_offer_topics"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        if misunderstood_twice(tracker):
            await hand_off(dispatcher, tracker, NOT_UNDERSTOOD)
            return []
        topics = likeliest_topics(tracker)
        if not topics:
            dispatcher.utter_message(response="utter_default")
            return []
        # Keep what the message named (an invoice, a month), so the button answers about it.
        named = {e["entity"]: e["value"] for e in (tracker.latest_message or {}).get("entities") or []
                 if e.get("entity") in ("invoice_number", "billing_period")}
        suffix = json.dumps(named, ensure_ascii=False) if named else ""
        words = replies_for(tracker, load_settings())
        buttons = [{"title": words.p.say(f"fallback.topic.{name}"), "payload": f"/{name}{suffix}"} for name in topics]
        buttons.append({"title": words.p.say("fallback.something_else"), "payload": "/ask_capabilities"})
        say(dispatcher, words.reply("fallback.did_you_mean", words.p.say("fallback.did_you_mean"), buttons=buttons))
        return []


class ActionDefaultFallback(Action):
    """Rasa's own core fallback (utter_default, then the message is forgotten), run here rather
    than inside the Rasa server, like action_session_start (actions.handoff): while the action
    server is down, a turn that starts a new session cannot start it properly, and then this
    fallback fails too, so the customer hears the channel's "can't look that up right now"
    instead of a wrong "I didn't understand"."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_default")
        return [UserUtteranceReverted()]
