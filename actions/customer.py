"""Who is asking: the customer token in the message metadata, verified on every turn."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from rasa_sdk import Tracker

from bot.config import Settings
from bot.identity import TokenError, verify_token

logger = logging.getLogger(__name__)

TOKEN_METADATA_KEY = "customer_token"
# `rasa shell` cannot send metadata; in development a customer can be named for it instead.
SHELL_CHANNEL = "cmdline"


@dataclass(frozen=True)
class Caller:
    customer_id: str | None
    problem: str | None  # response to send when there is no verified customer

    @property
    def verified(self) -> bool:
        return self.customer_id is not None


def _message_metadata(tracker: Tracker) -> dict:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return metadata if isinstance(metadata, dict) else {}


def identify(tracker: Tracker, settings: Settings) -> Caller:
    """The verified customer behind the latest message, or the reason there is none."""
    token = _message_metadata(tracker).get(TOKEN_METADATA_KEY)
    if not token and settings.shell_customer and settings.environment != "production" \
            and tracker.get_latest_input_channel() == SHELL_CHANNEL:
        return Caller(settings.shell_customer, None)
    try:
        return Caller(verify_token(token, settings), None)
    except TokenError as exc:
        if exc.reason != "missing":
            logger.info("rejected customer token for %s: %s", tracker.sender_id, exc.reason)
        problem = "utter_sign_in_expired" if exc.reason == "expired" else "utter_sign_in_required"
        return Caller(None, problem)
