"""Who is asking: the caller the channel verified (bot/caller.py), read from the message metadata."""
from __future__ import annotations

from dataclasses import dataclass

from rasa_sdk import Tracker

from bot.caller import NOT_IN_DIRECTORY, Caller


@dataclass(frozen=True)
class CustomerCheck:
    customer_id: str | None
    problem: str | None  # response to send when there is no verified customer

    @property
    def verified(self) -> bool:
        return self.customer_id is not None


def caller_of(tracker: Tracker) -> Caller:
    """The caller behind the latest message. A turn the worker triggered carries none: anonymous."""
    return Caller.from_metadata((tracker.latest_message or {}).get("metadata"))


def identify(tracker: Tracker) -> CustomerCheck:
    """The verified customer behind the latest message, or the response that says why there is none."""
    caller = caller_of(tracker)
    if caller.is_customer:
        return CustomerCheck(caller.customer_id, None)
    if caller.is_staff:  # staff have no account of their own: they ask about customers by name
        return CustomerCheck(None, "utter_staff.customer_questions")
    if caller.token_problem == NOT_IN_DIRECTORY:  # on Slack or Teams, but not in the staff directory
        return CustomerCheck(None, "utter_staff.not_in_directory")
    problem = "utter_sign_in_expired" if caller.token_problem == "expired" else "utter_sign_in_required"
    return CustomerCheck(None, problem)
