"""A suspended subscription and the partner's collections policy, for the verified customer."""
from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.base import Context, CustomerAction, say
from bot.billing import policy


class ActionExplainSuspension(CustomerAction):
    def name(self) -> str:
        return "action_explain_suspension"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        suspended = policy.suspensions(ctx.session, ctx.customer_id, ctx.today)
        if not suspended:
            names = [name for name, _ in policy.subscription_names(ctx.session, ctx.customer_id)]
            say(dispatcher, ctx.replies.active_subscriptions(names))
            return []
        for suspension in suspended:
            say(dispatcher, ctx.replies.suspension(suspension))
        return []


class ActionExplainCollectionsPolicy(CustomerAction):
    def name(self) -> str:
        return "action_explain_collections_policy"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        terms = policy.customer_policy(ctx.session, ctx.customer_id, ctx.today)
        if terms is None:
            dispatcher.utter_message(response="utter_billing_unavailable")
            return []
        suspended = bool(policy.suspensions(ctx.session, ctx.customer_id, ctx.today))
        say(dispatcher, ctx.replies.policy(terms, suspended))
        return []
