"""What an incoming message must look like before it reaches the assistant, on any channel.

Why: one malformed sender id used to exit the Rasa server (the SQL tracker store cannot store a
lone surrogate), 100 KB of text drove it past 15 GB of memory, and user-typed `/restart` silently
wiped a conversation. Everything here is a plain function over plain values, so every channel
(REST today, the widget's socket next) applies the same rules, and tests call them directly.
"""
from __future__ import annotations

import html
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from bot.config import ChannelSettings

# Conversation ids are chosen by clients: keep them to characters every store and log handles.
SENDER_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")
# Rasa reads "/intent{...}" as an intent given directly (what buttons send). These intents are
# Rasa's own or ours to send, never a user's: typed, they would restart or rewind the conversation,
# or fake a message from the escalation worker.
RESERVED_INTENTS = frozenset({"restart", "session_start", "back", "nlu_fallback"})
RESERVED_INTENT_PREFIX = "external_"
# Conversation ids other channels derive from a verified identity ("slack:T0LAKESHORE:U0MEICHEN",
# "teams:<tenant>:<user>", "widget-c-...", "widget-anon-..."): a client naming one over REST could
# write into that conversation, or bind it to itself before its owner first speaks.
RESERVED_SENDER_PREFIXES = ("slack:", "teams:", "widget-")
_COMMAND = re.compile(r"\s*/+\s*([^\s{@/]*)")
_KEEP_CONTROLS = {"\n", "\t"}


class Rejected(Exception):
    """The request is malformed: answered with `status` and a JSON error, and nothing is processed."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


@dataclass(frozen=True)
class Inbound:
    sender_id: str
    text: str  # cleaned; empty when too_long (the text is not kept)
    metadata: dict[str, Any]
    too_long: bool
    cut: bool = False  # long, but not too long: only its questions, or its beginning, are read
    questions_only: bool = False


@dataclass(frozen=True)
class CleanText:
    text: str
    too_long: bool = False
    cut: bool = False
    questions_only: bool = False  # a long message reduced to the questions in it


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def check_sender_id(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise Rejected(400, "invalid_sender", "'sender' must be a non-empty string.")
    if not SENDER_ID_PATTERN.fullmatch(value):
        raise Rejected(400, "invalid_sender", "'sender' must be 1-128 characters: letters, digits and . _ : @ - "
                                              "(starting with a letter or digit).")
    return value


def check_rest_sender_id(value: object) -> str:
    """A REST client's conversation id: well formed, and not one another channel derives."""
    sender = check_sender_id(value)
    if sender.lower().startswith(RESERVED_SENDER_PREFIXES):
        raise Rejected(400, "reserved_sender", "'sender' must not start with slack:, teams: or widget-: those "
                                               "conversations belong to other channels.")
    return sender


# Markup pasted from a web page or an e-mail: read as the words in it, never echoed back as markup.
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")


def _without_markup(text: str) -> str:
    """Tags removed until none is left ("<img<i> src=x>" would otherwise rebuild one), then any "<"
    that could still open a tag."""
    while True:
        stripped = _TAG.sub(" ", text)
        if stripped == text:
            return re.sub(r"<(?=[A-Za-z/!?])", "", stripped)
        text = stripped


def clean_text(value: object, limits: ChannelSettings) -> CleanText:
    """The text without control characters or markup; beyond `analysed_chars` it is cut (at a word)."""
    if not isinstance(value, str):
        raise Rejected(400, "invalid_message", "'message' must be a string.")
    if not _encodable(value):
        raise Rejected(400, "invalid_message", "'message' is not valid Unicode text.")
    if len(value) > limits.max_message_chars:
        return CleanText("", too_long=True)
    text = _without_markup(html.unescape(value))  # entities first: "&#x202e;" is a control character too
    text = "".join(ch for ch in text if ch in _KEEP_CONTROLS or unicodedata.category(ch)[0] != "C"
                   or unicodedata.category(ch) == "Co")
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    if not text:
        raise Rejected(400, "empty_message", "'message' must not be empty.")
    if len(text) <= limits.analysed_chars:
        return CleanText(text)
    questions = questions_in(text, limits.analysed_chars)
    if questions:
        return CleanText(questions, cut=True, questions_only=True)
    head = text[:limits.analysed_chars]
    return CleanText(head.rsplit(None, 1)[0] if " " in head.strip() else head, cut=True)


_SENTENCE = re.compile(r"(?:[^.!?。！？\n]|\.(?=\d))+[.!?。！？]*")  # "9,615.50" stays in one sentence


def questions_in(text: str, limit: int) -> str:
    """The questions of a long message, each once, up to `limit` characters: in a long e-mail the
    question is what to answer, and the rest would drown it for the NLU."""
    seen: list[str] = []
    for sentence in (m.group(0).strip() for m in _SENTENCE.finditer(text)):
        if sentence.endswith(("?", "？")) and sentence not in seen:
            if sum(len(q) + 1 for q in seen) + len(sentence) > limit:
                break
            seen.append(sentence)
    return " ".join(seen)


def _deeper_than(value: Any, limit: int) -> bool:
    """Is `value` nested more than `limit` containers deep? Iterative, and stops at the limit, so
    any depth the JSON parser accepted is measured without recursion."""
    level = [value]
    for _ in range(limit + 1):
        level = [child for node in level if isinstance(node, (dict, list))
                 for child in (node.values() if isinstance(node, dict) else node)]
        if not level:
            return False
    return True


def check_metadata(value: object, limits: ChannelSettings) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Rejected(400, "invalid_metadata", "'metadata' must be a JSON object.")
    try:
        size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    except (UnicodeEncodeError, ValueError, RecursionError):
        raise Rejected(400, "invalid_metadata", "'metadata' is not valid Unicode JSON.") from None
    if size > limits.max_metadata_bytes:
        raise Rejected(413, "metadata_too_large", f"'metadata' must be at most {limits.max_metadata_bytes} bytes.")
    if _deeper_than(value, limits.max_metadata_depth):
        raise Rejected(400, "metadata_too_deep", f"'metadata' must be nested at most {limits.max_metadata_depth} "
                                                 "levels deep.")
    return value


def neutralise_commands(text: str, allowed_intents: set[str] | frozenset[str]) -> str:
    """A typed "/restart" or "/EXTERNAL_..." is read as words, not obeyed. "/intent" payloads of the
    domain's ordinary intents (what buttons send) pass."""
    match = _COMMAND.match(text)
    if match is None:
        return text
    intent = match.group(1)
    if intent in allowed_intents and intent not in RESERVED_INTENTS \
            and not intent.lower().startswith(RESERVED_INTENT_PREFIX):
        return text
    return text.lstrip().lstrip("/").lstrip() or text


def parse_json_body(body: bytes, limits: ChannelSettings) -> dict[str, Any]:
    if len(body) > limits.max_request_bytes:
        raise Rejected(413, "request_too_large", f"The request body must be at most {limits.max_request_bytes} bytes.")
    if not body.strip():
        raise Rejected(400, "empty_body", "The request body is empty; send a JSON object with 'sender' and 'message'.")
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Rejected(400, "invalid_json", "The request body is not valid UTF-8 JSON.") from None
    if not isinstance(parsed, dict):
        raise Rejected(400, "invalid_body", "The request body must be a JSON object with 'sender' and 'message'.")
    return parsed


def inbound_from_rest(body: bytes, limits: ChannelSettings) -> Inbound:
    """Check a REST request body: {"sender": ..., "message": ..., "metadata": {...}}."""
    parsed = parse_json_body(body, limits)
    sender_id = check_rest_sender_id(parsed.get("sender"))
    cleaned = clean_text(parsed.get("message"), limits)
    return Inbound(sender_id, cleaned.text, check_metadata(parsed.get("metadata"), limits), cleaned.too_long,
                   cleaned.cut, cleaned.questions_only)
