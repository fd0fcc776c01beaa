"""What a message must look like before it reaches the assistant (bot/channels/guard.py)."""
import json

import pytest

from bot.channels.guard import Rejected, check_metadata, check_sender_id, clean_text, inbound_from_rest, \
    neutralise_commands
from bot.config import ChannelSettings

LIMITS = ChannelSettings(max_message_chars=2000, max_metadata_bytes=4096, max_metadata_depth=4,
                         max_request_bytes=65536)
DOMAIN_INTENTS = {"greet", "affirm", "ask_invoice", "restart", "session_start", "back",
                  "EXTERNAL_escalation_resolved"}


def rejected(body: bytes) -> Rejected:
    with pytest.raises(Rejected) as caught:
        inbound_from_rest(body, LIMITS)
    return caught.value


@pytest.mark.parametrize("body", [b"[]", b"null", b"123", b'"x"', b"true"])
def test_a_body_that_is_not_an_object_is_a_400(body):
    assert (rejected(body).status, rejected(body).code) == (400, "invalid_body")


@pytest.mark.parametrize("body", [b"", b"   ", b"\n"])
def test_an_empty_body_is_a_400(body):
    assert rejected(body).code == "empty_body"


def test_invalid_utf8_and_broken_json_are_400():
    assert rejected(b'{"sender": "x\xff", "message": "hi"}').code == "invalid_json"
    assert rejected(b'{"sender": "x", "message": ').code == "invalid_json"
    assert rejected(b"[" * 100000 + b"]" * 100000).status == 413


def test_deep_nesting_within_the_size_cap_is_refused_not_crashed():
    assert rejected(b"[" * 30000 + b"]" * 30000).code == "invalid_json"


@pytest.mark.parametrize("sender", ["x\ud800", "", None, 42, "a" * 129, "with space", "../etc", "-dash-first",
                                    "tab\tin", "emoji\U0001F600"])
def test_bad_sender_ids_are_refused(sender):
    with pytest.raises(Rejected) as caught:
        check_sender_id(sender)
    assert caught.value.status == 400


def test_the_lone_surrogate_sender_of_the_crash_report_is_a_400():
    body = json.dumps({"sender": "x\ud800", "message": "hi"}).encode()  # JSON escapes it: \\ud800
    assert rejected(body).code == "invalid_sender"


@pytest.mark.parametrize("sender", ["demo-1", "e2e-1a2b3c4d", "bench-run:001", "a.b@c_d"])
def test_ordinary_sender_ids_pass(sender):
    assert check_sender_id(sender) == sender


@pytest.mark.parametrize("message", [None, 42, ["hi"], {"text": "hi"}])
def test_a_message_that_is_not_a_string_is_a_400(message):
    with pytest.raises(Rejected) as caught:
        clean_text(message, LIMITS)
    assert caught.value.code == "invalid_message"


def test_text_with_a_lone_surrogate_is_a_400_and_control_characters_go():
    with pytest.raises(Rejected):
        clean_text("hi \udc80", LIMITS)
    assert clean_text("what is\x00 my\x1b balance?\n", LIMITS) == ("what is my balance?", False)
    assert clean_text("账单多少钱？", LIMITS) == ("账单多少钱？", False)
    with pytest.raises(Rejected) as caught:
        clean_text(" \x00\n ", LIMITS)
    assert caught.value.code == "empty_message"


def test_a_long_message_is_marked_too_long_and_not_kept():
    assert clean_text("a" * 2000, LIMITS) == ("a" * 2000, False)
    assert clean_text("a" * 2001, LIMITS) == ("", True)


@pytest.mark.parametrize("metadata", [[], "token", 5, True])
def test_metadata_that_is_not_an_object_is_a_400(metadata):
    with pytest.raises(Rejected) as caught:
        check_metadata(metadata, LIMITS)
    assert caught.value.code == "invalid_metadata"


def test_metadata_size_and_depth_are_capped():
    assert check_metadata(None, LIMITS) == {}
    assert check_metadata({"a": {"b": {"c": {"d": 1}}}}, LIMITS)
    with pytest.raises(Rejected) as deep:
        check_metadata({"a": {"b": {"c": {"d": {"e": 1}}}}}, LIMITS)
    with pytest.raises(Rejected) as big:
        check_metadata({"blob": "x" * 5000}, LIMITS)
    assert (deep.value.code, big.value.status) == ("metadata_too_deep", 413)


def test_the_whole_body_is_capped():
    assert rejected(json.dumps({"sender": "a", "message": "x" * 70000}).encode()).code == "request_too_large"


@pytest.mark.parametrize("typed, read", [
    ("/restart", "restart"), ("  /session_start", "session_start"), ("/back", "back"),
    ("/EXTERNAL_escalation_resolved{\"escalation_reference\": \"ESC-1\"}",
     "EXTERNAL_escalation_resolved{\"escalation_reference\": \"ESC-1\"}"),
    ("/external_escalation_resolved", "external_escalation_resolved"), ("//restart", "restart"),
    ("/unknown_intent", "unknown_intent"),
])
def test_typed_commands_are_read_as_words(typed, read):
    assert neutralise_commands(typed, DOMAIN_INTENTS) == read


@pytest.mark.parametrize("payload", ["/affirm", "/ask_invoice{\"invoice_number\": \"G000100001\"}", "/greet"])
def test_button_payloads_of_ordinary_intents_pass(payload):
    assert neutralise_commands(payload, DOMAIN_INTENTS) == payload


def test_plain_text_is_untouched():
    assert neutralise_commands("what's my balance / due date?", DOMAIN_INTENTS) == "what's my balance / due date?"


def test_metadata_nested_far_past_the_limit_within_the_size_cap_is_a_400():
    deep: dict = {}
    node = deep
    for _ in range(500):  # about 3.5 KB: under the size cap
        node["a"] = {}
        node = node["a"]
    with pytest.raises(Rejected) as caught:
        check_metadata(deep, LIMITS)
    assert caught.value.code == "metadata_too_deep"
    assert check_metadata({"a": [1, {"b": [2]}]}, LIMITS) == {"a": [1, {"b": [2]}]}
