"""The poller and closing the loop: status from 21Vianet, one notification per closure, reopening,
and the notify hook the integrator plugs in to push news into an open chat.
"""
from __future__ import annotations

import time

from bot.db import session_scope
from bot.escalation import records
from bot.escalation.models import State
from bot.escalation.worker import run_worker
from tests.escalation.helpers import TAILSPIN, count_notifications, event_kinds, file, row, wait_for


def sent_escalation(worker) -> tuple[str, str]:
    """(reference, 21Vianet id) of an escalation the relay has sent."""
    escalation = file()
    worker.relay.run_once()
    sent = row(escalation.reference)
    assert sent.state == State.SENT
    return escalation.reference, sent.upstream_id


def test_closed_upstream_closes_the_escalation_and_notifies_once(vianet, worker_factory):
    worker = worker_factory()
    reference, upstream_id = sent_escalation(worker)
    assert worker.poller.run_once().closed == 0
    assert row(reference).state == State.SENT

    vianet.set_status(upstream_id, "closed", note="Credit note CN-778 issued.")
    time.sleep(0.02)  # the poll interval (0.01 s in tests)
    report = worker.poller.run_once()
    assert report.closed == 1
    closed = row(reference)
    assert closed.state == State.CLOSED and closed.upstream_status == "closed" and closed.closed_at is not None
    assert closed.dedup_key is None
    assert count_notifications(reference) == 1

    time.sleep(0.02)
    assert worker.poller.run_once().polled == 0  # closed tickets are not polled again
    assert count_notifications(reference) == 1
    kinds = event_kinds(reference)
    assert kinds[-4:] == ["upstream_note", "status_changed", "closed", "notification_created"]

    with session_scope() as session:
        [news] = records.pending_notifications(session, TAILSPIN, conversation_id=f"chat-{TAILSPIN}")
        assert news.reference == reference and news.text_key == "escalation_resolved"
        assert news.params["resolved_by"] == "vianet" and news.params["invoice_number"] == "G000400001"
        assert "CN-778" not in str(news.params)  # 21Vianet's ticket id is never shown to the customer
        [view] = records.escalations_for_customer(session, TAILSPIN)
        assert view.progress == "closed"


def test_attention_needed_is_recorded_and_shown_to_partner_staff(vianet, worker_factory):
    worker = worker_factory()
    reference, upstream_id = sent_escalation(worker)
    vianet.set_status(upstream_id, "attention_needed", note="Please send the purchase order.")
    time.sleep(0.02)
    assert worker.poller.run_once().status_changes == 1
    assert row(reference).upstream_status == "attention_needed"
    with session_scope() as session:
        [item] = records.partner_queue(session, "P-01")
        assert item.escalation.reference == reference and item.reason == "21Vianet asked for more information"
        history = records.escalation_history(session, reference, "P-01")
    assert any(e.kind == "upstream_note" and "purchase order" in e.detail for e in history)

    with session_scope() as session:
        records.add_partner_note(session, reference, "P-01", "PO attached by e-mail")
    worker.relay.run_once()
    notes = [note["Text"] for note in vianet.get(upstream_id)["Notes"]]
    assert notes[-1] == "PO attached by e-mail"


def test_reopening_sends_a_note_and_status_back_to_open(vianet, worker_factory):
    worker = worker_factory()
    reference, upstream_id = sent_escalation(worker)
    vianet.set_status(upstream_id, "closed")
    time.sleep(0.02)
    worker.poller.run_once()
    with session_scope() as session:
        [news] = records.pending_notifications(session, TAILSPIN)
        records.record_customer_answer(session, TAILSPIN, news.id, solved=False, note="The customer says the problem is not solved: \"Still charged for it\"")
    assert row(reference).state == State.REOPENED

    time.sleep(0.02)
    assert worker.poller.run_once().polled == 0  # would see "closed" and undo the reopen
    assert row(reference).state == State.REOPENED

    assert worker.relay.run_once().notes_sent == 1
    upstream = vianet.get(upstream_id)
    assert upstream["Status"] == "open"
    assert upstream["Notes"][-1]["Text"] == "The customer says the problem is not solved: \"Still charged for it\""
    assert row(reference).upstream_status == "open"
    assert worker.relay.run_once().notes_sent == 0  # sent once

    time.sleep(0.02)
    worker.poller.run_once()
    assert row(reference).state == State.REOPENED
    vianet.set_status(upstream_id, "closed", note="Reversed the charge.")
    time.sleep(0.02)
    worker.poller.run_once()
    assert row(reference).state == State.CLOSED
    assert count_notifications(reference) == 2  # a second closure is news again


def test_poll_failures_back_off_and_never_stop_the_loop(vianet, worker_factory):
    worker = worker_factory()
    reference, upstream_id = sent_escalation(worker)
    vianet.set_status(upstream_id, "closed")
    vianet.fault("error_503", retry_after=0)
    time.sleep(0.02)
    assert worker.poller.run_once().failed == 1
    failing = row(reference)
    assert failing.state == State.SENT and failing.poll_failures == 1 and "status=503" in failing.last_error
    vianet.clear_faults()
    wait_for(lambda: row(reference).state == State.CLOSED, timeout=5, step=worker.poller.run_once)
    assert count_notifications(reference) == 1


def test_the_notify_hook_pushes_news_and_failures_stay_pending(vianet, worker_factory):
    pushed = []

    def push_into_chat(notification):
        pushed.append(notification)
        return True

    def chat_closed(notification):
        raise ConnectionError("Rasa is not running")

    reference, upstream_id = sent_escalation(worker_factory())
    vianet.set_status(upstream_id, "closed")
    time.sleep(0.02)
    failing = worker_factory(notify=chat_closed)
    result = failing.run_once()
    assert result.poll.closed == 1 and result.push_failed == 1
    with session_scope() as session:
        [pending] = records.pending_notifications(session, TAILSPIN)
    assert pending.delivered_at is None

    time.sleep(0.3)  # the push backs off between attempts
    result = worker_factory(notify=push_into_chat).run_once()
    assert result.pushed == 1 and [n.reference for n in pushed] == [reference]
    assert pushed[0].conversation_id == f"chat-{TAILSPIN}"
    with session_scope() as session:
        assert records.pending_notifications(session, TAILSPIN) == []
        [told] = records.notifications_for_partner(session, "P-01")
        assert told.delivered_at is not None and told.shown_at is None
    assert "customer_notified" in event_kinds(reference)


def test_without_a_hook_news_waits_until_the_chat_is_opened(vianet, worker_factory):
    worker = worker_factory()
    reference, upstream_id = sent_escalation(worker)
    vianet.set_status(upstream_id, "closed")
    time.sleep(0.02)
    assert worker.run_once().pushed == 0
    with session_scope() as session:
        [news] = records.pending_notifications(session, TAILSPIN)
        shown = records.mark_shown(session, TAILSPIN, news.id)
    assert shown.shown_at is not None
    with session_scope() as session:
        assert records.pending_notifications(session, TAILSPIN) == []
        assert records.record_customer_answer(session, TAILSPIN, news.id, solved=True).acknowledged is True
    assert event_kinds(reference)[-2:] == ["customer_notified", "customer_confirmed"]


def test_run_worker_once_does_a_full_pass(vianet):
    escalation = file()
    assert run_worker(once=True) == 0
    assert row(escalation.reference).state == State.SENT


def test_partner_staff_closing_a_sent_escalation_closes_the_ticket_too(vianet, worker_factory):
    worker = worker_factory()
    reference, upstream_id = sent_escalation(worker)
    with session_scope() as session:
        records.resolve_by_partner(session, reference, "P-01", "Credited on the next invoice")
    assert row(reference).state == State.CLOSED and count_notifications(reference) == 1
    assert worker.relay.run_once().notes_sent == 1
    upstream = vianet.get(upstream_id)
    assert upstream["Status"] == "closed" and upstream["Notes"][-1]["Text"] == "Credited on the next invoice"


def test_a_queued_escalation_can_be_sent_again_once_the_api_is_configured(vianet, worker_factory, monkeypatch):
    monkeypatch.delenv("VIANET_API_URL")
    escalation = file()
    worker_factory().relay.run_once()
    assert row(escalation.reference).state == State.PARTNER_QUEUE

    monkeypatch.setenv("VIANET_API_URL", vianet.url)
    with session_scope() as session:
        records.requeue_for_vianet(session, escalation.reference, "P-01")
    assert worker_factory().relay.run_once().sent == 1
    assert row(escalation.reference).state == State.SENT and vianet.stats()["created"] == 1
    assert "requeued" in event_kinds(escalation.reference)
