"""The transcript and summary an agent reads, from a tracker's events (Rasa 3.6's JSON shape) and
the real database: agents' turns named, pauses marked, topics labelled, invoices and escalations."""
from __future__ import annotations

from bot.console.conversation import summary, transcript
from bot.escalation.records import file_escalation
from bot.replies.catalogue import Phrases

T = 1795700000.0


def user(text: str, intent: str, entities=(), at: float = T) -> dict:
    return {"event": "user", "timestamp": at, "text": text, "input_channel": "widget",
            "parse_data": {"intent": {"name": intent, "confidence": 0.98},
                           "entities": [{"entity": "invoice_number", "value": value} for value in entities]}}


def bot(text: str, at: float = T, **data) -> dict:
    return {"event": "bot", "timestamp": at, "text": text,
            "data": {"elements": None, "quick_replies": None, "buttons": None, "attachment": None, "image": None,
                     "custom": None, **data}}


EVENTS = [
    {"event": "action", "timestamp": T, "name": "action_session_start"},
    user("show me invoice G000100001", "ask_invoice", ["G000100001"], T + 1),
    {"event": "slot", "timestamp": T + 2, "name": "focus_invoice", "value": "G000100001"},
    bot("Invoice G000100001 for September 2026...", T + 2),
    user("EXTERNAL: EXTERNAL_escalation_resolved", "EXTERNAL_escalation_resolved", at=T + 3),
    user("and g000200001?", "ask_invoice", ["g000200001"], T + 4),
    user("this makes no sense", "nlu_fallback", at=T + 5),
    user("thanks", "thank", at=T + 5.5),
    user("I want to speak to a person", "request_human", at=T + 6),
    user("/weird_new_intent", "weird_new_intent", at=T + 6.5),
    {"event": "pause", "timestamp": T + 7},
    bot("Ana Agent from support has joined the chat.", T + 7),
    bot("Hello, Ana here.", T + 8, custom={"agent": {"name": "Ana Agent"}}),
    {"event": "resume", "timestamp": T + 9},
    bot("How would you rate the help?", T + 10, buttons=[{"title": "1", "payload": "/rate_support"}]),
]


def test_the_transcript_names_each_speaker_with_times_and_marks_the_pause():
    turns = transcript(EVENTS)
    assert [(t["kind"], t.get("name")) for t in turns] == [
        ("customer", None), ("assistant", None), ("customer", None), ("customer", None), ("customer", None),
        ("customer", None), ("customer", None), ("paused", None), ("assistant", None), ("agent", "Ana Agent"),
        ("resumed", None), ("assistant", None)]
    assert turns[0] == {"kind": "customer", "text": "show me invoice G000100001", "at": "2026-11-26T13:33:21+00:00"}
    assert turns[9]["text"] == "Hello, Ana here." and turns[-1]["buttons"] == ["1"]


def test_the_summary_labels_topics_lists_invoices_and_open_escalations(session):
    file_escalation(session, customer_id="C-1001", kind="dispute", route="partner", summary="Bandwidth charge",
                    description="We never used that much bandwidth", invoice_number="G000100002")
    english = summary(session, "C-1001", EVENTS, Phrases("en"))
    assert [t["label"] for t in english["topics"]] == [
        "An invoice", "Not understood", "Talking to a person", "Something else (weird_new_intent)"]
    assert [(i["number"], i["on_account"], i["label"]) for i in english["invoices"]] == [
        ("G000100001", True, "G000100001"),
        ("G000200001", False, "G000200001 (not on this customer's account)")]  # Fabrikam's
    (escalation,) = english["escalations"]
    assert escalation["kind"] == "dispute" and escalation["invoice_number"] == "G000100002"
    assert escalation["label"].endswith(": dispute about G000100002, in the partner-staff queue")
    chinese = summary(session, "C-1001", EVENTS, Phrases("zh"))
    assert chinese["topics"][0]["label"] == "查看账单" and chinese["topics"][-1]["label"] == "其他（weird_new_intent）"


def test_without_a_transcript_the_summary_still_shows_the_escalations(session):
    assert summary(session, "C-1001", None, Phrases("en"))["topics"] == []
    assert summary(session, None, EVENTS, Phrases("en"))["escalations"] == []
