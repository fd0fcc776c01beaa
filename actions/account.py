"""A suspended subscription and the partner's collections policy, for the verified customer."""
from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.base import Context, CustomerAction
from actions.render import Renderer
from bot.billing import policy


class ActionExplainSuspension(CustomerAction):
    def name(self) -> str:
        return "action_explain_suspension"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        suspended = policy.suspensions(ctx.session, ctx.customer_id, ctx.today)
        if not suspended:
            names = ", ".join(name for name, _ in policy.subscription_names(ctx.session, ctx.customer_id))
            dispatcher.utter_message(
                text=f"Your subscription{'s' if ',' in names else ''} ({names or 'none on record'}) "
                     "is active, not suspended for billing reasons. If a service isn't working, that is a technical "
                     "issue: please contact your provider's technical support.")
            return []
        render = Renderer(ctx.settings)
        for suspension in suspended:
            dispatcher.utter_message(text=render.suspension(suspension))
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
        dispatcher.utter_message(text=Renderer(ctx.settings).policy(terms, suspended))
        return []
