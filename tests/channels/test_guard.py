"""What a message must look like before it reaches the assistant (bot/channels/guard.py)."""
import json

import pytest

from bot.channels.guard import CleanText, Rejected, check_metadata, check_sender_id, clean_text, inbound_from_rest, \
    neutralise_commands
from bot.config import ChannelSettings

LIMITS = ChannelSettings(max_message_chars=8000, analysed_chars=2000, max_metadata_bytes=4096,
                         max_metadata_depth=4, max_request_bytes=65536)
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
    assert clean_text("what is\x00 my\x1b balance?\n", LIMITS).text == "what is my balance?"
    assert clean_text("账单多少钱？", LIMITS).text == "账单多少钱？"
    with pytest.raises(Rejected) as caught:
        clean_text(" \x00\n ", LIMITS)
    assert caught.value.code == "empty_message"


def test_a_long_message_is_cut_at_a_word_and_a_too_long_one_not_kept():
    assert clean_text("a" * 2000, LIMITS) == CleanText("a" * 2000)
    long = "I'm writing about our account. " + "blah " * 1000
    cut = clean_text(long, LIMITS)
    assert cut.cut and cut.text.startswith("I'm writing about our account.") and len(cut.text) <= 2000
    assert not cut.text.endswith("bla") and not cut.questions_only
    email = ("Hello. We are closing the year. What is my balance? " + "Our auditors need figures. " * 80
             + "What is my balance? And when is G000100002 due?")
    read = clean_text(email, LIMITS)
    assert (read.text, read.cut, read.questions_only) == (
        "What is my balance? And when is G000100002 due?", True, True)
    amount = clean_text("Hi. " * 600 + "Did you get my payment of CNY 9,615.50?", LIMITS)
    assert amount.text == "Did you get my payment of CNY 9,615.50?"
    assert clean_text("a" * 8001, LIMITS) == CleanText("", too_long=True)


def test_markup_is_read_as_its_words():
    assert clean_text("<p>What is my <b>balance</b>?</p>", LIMITS).text == "What is my balance ?"
    assert clean_text("&lt;script&gt;alert(1)&lt;/script&gt; my invoice", LIMITS).text == "alert(1) my invoice"
    assert clean_text("I paid < 500 and > 300", LIMITS).text == "I paid < 500 and > 300"
    for attack in ("<img<i> src=x onerror=alert(1)>", "<svg<b>/onload=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"):
        assert "<" not in clean_text("my balance " + attack, LIMITS).text
    assert "\u202e" not in clean_text("pay &#x202e;me", LIMITS).text


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


@pytest.mark.parametrize("sender", ["slack:T0LAKESHORE:U0MEICHEN", "teams:7d3c0c2e:a1a1a1a1", "widget-c-0123abcd",
                                    "Widget-anon-xyz"])
def test_a_rest_client_cannot_name_another_channels_conversation(sender):
    from bot.channels.guard import check_rest_sender_id

    assert check_sender_id(sender) == sender  # well formed: the platform's own channel uses it
    with pytest.raises(Rejected) as refused:
        check_rest_sender_id(sender)
    assert (refused.value.status, refused.value.code) == (400, "reserved_sender")
