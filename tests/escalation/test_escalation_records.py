"""Recording escalations and reading them back: idempotency, scoping, the partner queue, wording.

Why: the conversation records an escalation and answers from that record; a repeated confirmation
must not file a second one, and no customer may ever see another's.
"""
from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.db import session_scope
from bot.escalation import records
from bot.escalation.__main__ import main as escalation_cli
from bot.escalation.models import Escalation, State
from bot.escalation.records import dedup_key_for, file_escalation
from tests.escalation.helpers import TAILSPIN, count_escalations, event_kinds, file, row
from tests.conftest import TODAY

NORTHWIND = "C-1003"


def test_filing_the_same_escalation_twice_keeps_one_row(db_url, fast_settings):
    first = file()
    again = file()  # a repeated confirmation
    reworded = file(summary="  reserved-instance purchase, we never ORDERED!  ", invoice_number="g000400001")
    assert first.created and not again.created and not reworded.created
    assert again.reference == reworded.reference == first.reference
    assert count_escalations() == 1
    assert event_kinds(first.reference) == ["created"]
    assert first.state == State.PENDING and first.reference.startswith("ESC-") and len(first.reference) == 10


def test_a_different_problem_or_invoice_is_a_new_escalation(db_url, fast_settings):
    file()
    file(summary="Storage billed twice")
    file(invoice_number="G000400002")
    file(kind="refund", route="partner")
    assert count_escalations() == 4


def test_dedup_key_is_stable_and_customer_specific():
    key = dedup_key_for("C-1004", "dispute", "G000400001", "Reserved instance purchase!")
    assert key == dedup_key_for("c-1004", "dispute", "g000400001", "reserved   instance purchase")
    assert key != dedup_key_for("C-1003", "dispute", "G000400001", "Reserved instance purchase")
    assert key != dedup_key_for("C-1004", "refund", "G000400001", "Reserved instance purchase")
    assert len(key) == 64


def test_a_concurrent_insert_of_the_same_key_returns_the_winner(db_url, fast_settings, monkeypatch):
    """The other writer commits between our look-up and our insert: the unique key stops us,
    the SAVEPOINT is rolled back, and the caller's own work in the transaction survives."""
    winner = file()
    real_lookup = records._by_dedup_key
    calls = []

    def lookup_missing_it_first(session, dedup_key):
        calls.append(dedup_key)
        return None if len(calls) == 1 else real_lookup(session, dedup_key)

    monkeypatch.setattr(records, "_by_dedup_key", lookup_missing_it_first)
    with session_scope() as session:
        earlier = file_escalation(session, customer_id=TAILSPIN, kind="dispute", route="vianet",
                                  summary="Bandwidth charge too high", description="", invoice_number="G000400001")
        loser = file_escalation(session, customer_id=TAILSPIN, kind="dispute", route="vianet",
                                summary="Reserved instance purchase we never ordered", description="",
                                invoice_number="G000400001")
    assert not loser.created and loser.reference == winner.reference
    assert count_escalations() == 2  # the winner and the caller's earlier escalation
    assert row(earlier.reference).state == State.PENDING


def test_filing_is_part_of_the_callers_transaction(db_url, fast_settings):
    with pytest.raises(RuntimeError):
        with session_scope() as session:
            file_escalation(session, customer_id=TAILSPIN, kind="dispute", route="vianet",
                            summary="Rolled back", description="")
            raise RuntimeError("the action failed after filing")
    assert count_escalations() == 0


def test_invalid_filings_are_refused(db_url, fast_settings):
    with session_scope() as session:
        base = dict(customer_id=TAILSPIN, kind="dispute", route="vianet", summary="x", description="")
        with pytest.raises(ValueError):
            file_escalation(session, **{**base, "kind": "complaint"})
        with pytest.raises(ValueError):
            file_escalation(session, **{**base, "route": "email"})
        with pytest.raises(ValueError):
            file_escalation(session, **{**base, "filed_by": "someone"})
        with pytest.raises(ValueError):
            file_escalation(session, **{**base, "customer_id": "C-9999"})
        with pytest.raises(ValueError):
            file_escalation(session, **{**base, "amount": Decimal("1.00")})  # no currency
        with pytest.raises(TypeError):
            file_escalation(session, **{**base, "amount": 1.0, "currency": "CNY"})


def test_customers_see_only_their_own_escalations(db_url, fast_settings):
    tailspin = file()
    with session_scope() as session:
        assert [e.reference for e in records.escalations_for_customer(session, TAILSPIN)] == [tailspin.reference]
        assert records.escalations_for_customer(session, NORTHWIND) == []
        assert records.get_escalation(session, NORTHWIND, tailspin.reference) is None
        assert records.get_escalation(session, TAILSPIN, tailspin.reference.lower()).id == tailspin.id
        assert records.reopen(session, NORTHWIND, tailspin.reference, "not solved") is None
        assert records.get_escalation(session, TAILSPIN, str(tailspin.id)) is None  # ids are not references


def test_notifications_are_scoped_to_the_customer(db_url, fast_settings):
    escalation = file(kind="refund", route="partner", summary="Duplicate payment refund")
    with session_scope() as session:
        records.resolve_by_partner(session, escalation.reference, "P-01", "Refund paid")
    with session_scope() as session:
        [mine] = records.pending_notifications(session, TAILSPIN)
        assert records.pending_notifications(session, NORTHWIND) == []
        assert records.pending_notifications(session, TAILSPIN, conversation_id="someone-else") == []
        assert records.mark_shown(session, NORTHWIND, mine.id) is None
        assert records.record_customer_answer(session, NORTHWIND, mine.id, solved=False) is None
        assert records.pending_notifications(session, TAILSPIN, conversation_id=f"chat-{TAILSPIN}") == [mine]


def test_escalations_for_customer_lists_open_ones_first_then_recently_closed(db_url, fast_settings):
    closed = file(route="partner", summary="first")
    with session_scope() as session:
        records.resolve_by_partner(session, closed.reference, "P-01")
    older = file(summary="second")
    newer = file(summary="third")
    with session_scope() as session:
        views = records.escalations_for_customer(session, TAILSPIN)
        assert [v.reference for v in views] == [newer.reference, older.reference, closed.reference]
        assert views[0].progress == "passing_on"
        assert views[2].progress == "closed" and views[2].closed_at is not None
        assert [v.reference for v in records.escalations_for_customer(session, TAILSPIN, limit=1)] == [newer.reference]


def test_progress_says_where_an_escalation_is_as_a_customer_would_ask(db_url, fast_settings):
    view = file()
    expected = {
        (State.PENDING, "none", None): "passing_on",
        (State.SENT, "open", "123"): "with_vianet",
        (State.SENT, "attention_needed", "123"): "vianet_needs_details",
        (State.PARTNER_QUEUE, "none", None): "with_partner",
        (State.REOPENED, "closed", "123"): "reopened_vianet",
        (State.REOPENED, "none", None): "reopened_partner",
        (State.CLOSED, "closed", "123"): "closed",
    }
    for (state, upstream_status, upstream_id), progress in expected.items():
        changed = replace(view, state=state, upstream_status=upstream_status, upstream_id=upstream_id)
        assert changed.progress == progress


def test_partner_route_goes_straight_to_the_partner_queue_and_exports(db_url, fast_settings, capsys):
    refund = file(customer_id=NORTHWIND, kind="refund", route="partner", invoice_number="G000300001",
                  summary="=HYPERLINK(\"http://evil\") duplicate payment", amount=Decimal("5300.00"))
    file()  # route vianet: not in the queue while pending
    assert refund.state == State.PARTNER_QUEUE
    assert event_kinds(refund.reference) == ["created", "queued_for_partner"]
    with session_scope() as session:
        [item] = records.partner_queue(session, "P-01")
        assert item.escalation.reference == refund.reference and item.customer_name == "Northwind Traders"
        assert records.partner_queue(session, "P-99") == []
        exported = records.export_partner_queue_csv(session, "P-01")
    [line] = list(csv.DictReader(io.StringIO(exported)))
    assert line["reference"] == refund.reference and line["amount"] == "5300.00"
    assert line["summary"].startswith("'=")  # no formula runs when staff open the file
    assert escalation_cli(["queue", "--partner", "P-01", "--csv"]) == 0
    assert capsys.readouterr().out == exported
    assert escalation_cli(["queue"]) == 0
    assert refund.reference in capsys.readouterr().out


def test_partner_staff_resolve_note_and_history(db_url, fast_settings, capsys):
    refund = file(kind="refund", route="partner", summary="Refund the duplicate")
    assert escalation_cli(["note", refund.reference, "Refund approved", "--partner", "P-01"]) == 0
    assert escalation_cli(["note", refund.reference, "x", "--partner", "P-99"]) == 1  # another partner's
    assert escalation_cli(["resolve", refund.reference, "--partner", "P-01", "--note", "Refund paid"]) == 0
    capsys.readouterr()
    assert escalation_cli(["show", refund.reference, "--partner", "P-01"]) == 0
    history = capsys.readouterr().out
    assert "Refund approved" in history and "Refund paid" in history and "closed" in history
    with session_scope() as session:
        assert records.partner_queue(session, "P-01") == []
        [told] = records.notifications_for_partner(session, "P-01")
        assert told.reference == refund.reference and told.customer_name == "Tailspin Toys"
        assert told.delivered_at is None and told.shown_at is None and told.acknowledged is None
        assert told.params["resolved_by"] == "partner" and told.params["kind"] == "refund"
        from bot.replies.escalations import EscalationReplies
        from bot.replies.catalogue import Phrases

        news = EscalationReplies(Phrases("en"), TODAY).news(told, None)
        assert "your provider's billing team has closed it" in news.text


def test_closing_releases_the_dedup_key(db_url, fast_settings):
    first = file(route="partner")
    with session_scope() as session:
        records.resolve_by_partner(session, first.reference, "P-01")
    second = file(route="partner")
    assert second.created and second.reference != first.reference


def test_answering_yes_confirms_and_no_reopens_once(db_url, fast_settings):
    escalation = file(route="partner", summary="Refund")
    with session_scope() as session:
        records.resolve_by_partner(session, escalation.reference, "P-01")
        [notification] = records.pending_notifications(session, TAILSPIN)
    with session_scope() as session:
        answered = records.record_customer_answer(session, TAILSPIN, notification.id, solved=False,
                                                  note="The refund never arrived")
        again = records.record_customer_answer(session, TAILSPIN, notification.id, solved=True)
    assert answered.acknowledged is False and again.acknowledged is False  # the first answer stands
    assert answered.shown_at is not None
    reopened = row(escalation.reference)
    assert reopened.state == State.REOPENED and reopened.closed_at is None
    assert event_kinds(escalation.reference).count("reopened") == 1
    with session_scope() as session:
        [item] = records.partner_queue(session, "P-01")
        assert item.reason == "reopened by the customer"
        assert records.pending_notifications(session, TAILSPIN) == []
        assert session.scalar(select(func.count()).select_from(Escalation)) == 1
