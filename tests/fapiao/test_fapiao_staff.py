"""The partner's side: the queue, marking a request issued or rejected, the history, and the news
the customer gets on their next turn.

Why: staff work the queue from what is recorded; a number typed wrong would reach the customer's
books, a partner must never see or change another partner's requests, and the customer must be
told once, with facts the conversation can word in their language.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.db import session_scope
from bot.fapiao import news, requests, staff
from bot.fapiao.models import State
from bot.fapiao.staff import FapiaoError
from tests.conftest import TODAY
from tests.fapiao.helpers import (
    CONTOSO,
    CONTOSO_PAID,
    NORTHWIND,
    NORTHWIND_PAID,
    NUMBER_2026,
    OTHER_CUSTOMER,
    OTHER_INVOICE,
    OTHER_PARTNER,
    PARTNER,
    STAFF,
    add_other_partner,
    events,
    file,
    issue,
    reject,
)


def test_status_before_and_after_staff_mark_it_issued(db_url):
    request = file(fapiao_type="special").request
    with session_scope() as session:
        before = requests.get_request(session, CONTOSO, request.reference)
        assert (before.state, before.fapiao_number, before.issued_on, before.is_open) == ("requested", None, None, True)
        assert news.pending_news(session, CONTOSO) == []

    issued = issue(request.reference, issued_on=date(2026, 11, 24))
    assert (issued.state, issued.fapiao_number, issued.issued_on) == (State.ISSUED, NUMBER_2026, date(2026, 11, 24))

    with session_scope() as session:
        after = requests.get_request(session, CONTOSO, request.reference)
        assert (after.state, after.fapiao_number, after.issued_on, after.is_open) == (
            "issued", NUMBER_2026, date(2026, 11, 24), False)
        assert after.decided_at is not None
        [notice] = news.pending_news(session, CONTOSO)
        assert (notice.reference, notice.state, notice.invoice_number, notice.fapiao_type) == (
            request.reference, "issued", CONTOSO_PAID, "special")
        assert (notice.fapiao_number, notice.issued_on, notice.reject_reason) == (NUMBER_2026, date(2026, 11, 24), None)
        assert notice.email == "finance@contoso.example" and notice.shown_at is None
        assert news.pending_news(session, NORTHWIND) == []

    with session_scope() as session:
        shown = news.mark_news_shown(session, CONTOSO, notice.id)
        assert shown.id == notice.id and shown.shown_at is not None
    with session_scope() as session:
        assert news.pending_news(session, CONTOSO) == []  # shown once
        assert news.mark_news_shown(session, CONTOSO, notice.id).shown_at == shown.shown_at  # a resend: no change
    assert events(request.reference) == [
        ("requested", f"customer:{CONTOSO}"),
        ("issued", f"partner:{PARTNER}:{STAFF}"),
        ("notice_recorded", f"partner:{PARTNER}:{STAFF}"),
        ("customer_notified", f"customer:{CONTOSO}"),
    ]


def test_news_belongs_to_its_customer_only(db_url):
    request = file().request
    issue(request.reference)
    with session_scope() as session:
        [notice] = news.pending_news(session, CONTOSO)
        assert news.mark_news_shown(session, NORTHWIND, notice.id) is None
        assert news.mark_news_shown(session, CONTOSO, notice.id + 1000) is None
    with session_scope() as session:
        assert [n.id for n in news.pending_news(session, CONTOSO)] == [notice.id]  # still pending


def test_rejecting_tells_the_customer_why_and_frees_the_invoice(db_url):
    request = file().request
    rejected = reject(request.reference, reason="other", note="请提供营业执照副本")
    assert (rejected.state, rejected.reject_reason, rejected.staff_note) == ("rejected", "other", "请提供营业执照副本")
    with session_scope() as session:
        [notice] = news.pending_news(session, CONTOSO)
        assert (notice.state, notice.reject_reason, notice.staff_note, notice.fapiao_number) == (
            "rejected", "other", "请提供营业执照副本", None)
        assert staff.fapiao_queue(session, PARTNER, TODAY) == []
    assert file().created
    assert [kind for kind, _ in events(request.reference)] == ["requested", "rejected", "notice_recorded"]


def test_the_queue_lists_open_requests_oldest_first_with_age(db_url):
    older = file(customer_id=NORTHWIND, invoice_number=NORTHWIND_PAID, today=date(2026, 11, 18)).request
    newer = file(fapiao_type="special").request
    with session_scope() as session:
        queue = staff.fapiao_queue(session, PARTNER, TODAY)
    assert [(i.request.reference, i.customer_name, i.request.invoice_number, i.request.fapiao_type)
            for i in queue] == [(older.reference, "Northwind Traders", NORTHWIND_PAID, "ordinary"),
                                (newer.reference, "Contoso Ltd", CONTOSO_PAID, "special")]
    # Filed Wednesday 18 November with 3 business days: due Monday 23rd, overdue on the 25th.
    assert [(i.age_days, i.request.due_by, i.overdue) for i in queue] == [
        (7, date(2026, 11, 23), True), (0, date(2026, 11, 30), False)]
    issue(older.reference)
    with session_scope() as session:
        assert [i.request.reference for i in staff.fapiao_queue(session, PARTNER, TODAY)] == [newer.reference]


def test_another_partner_can_neither_see_nor_change_a_request(db_url):
    add_other_partner()
    request = file().request
    theirs = file(customer_id=OTHER_CUSTOMER, invoice_number=OTHER_INVOICE).request
    assert theirs.partner_id == OTHER_PARTNER and theirs.due_by == TODAY + timedelta(days=7)  # 5 business days
    with session_scope() as session:
        assert [i.request.reference for i in staff.fapiao_queue(session, OTHER_PARTNER, TODAY)] == [theirs.reference]
        assert [i.request.reference for i in staff.fapiao_queue(session, PARTNER, TODAY)] == [request.reference]
        assert staff.request_for_partner(session, request.reference, OTHER_PARTNER) is None
        assert staff.request_history(session, request.reference, OTHER_PARTNER) is None
    assert issue(request.reference, partner_id=OTHER_PARTNER) is None
    assert reject(request.reference, partner_id=OTHER_PARTNER) is None
    assert issue(theirs.reference, partner_id=PARTNER) is None
    with session_scope() as session:
        unchanged = requests.get_request(session, CONTOSO, request.reference)
        assert (unchanged.state, unchanged.fapiao_number) == ("requested", None)
        assert news.pending_news(session, CONTOSO) == []
        # P-02 offers no special fapiao, but paper ones
        assert requests.type_problem(session, OTHER_CUSTOMER, "special") == "special_not_offered"
        assert requests.type_problem(session, OTHER_CUSTOMER, "ordinary", form="paper") is None
    assert [kind for kind, _ in events(request.reference)] == ["requested"]


@pytest.mark.parametrize("number, issued_on, code", [
    ("12345678", None, "number_wrong_length"),  # a paper number for a 数电票
    ("2631100000001234567", None, "number_wrong_length"),
    ("2631100000001234567A", None, "number_not_digits"),
    ("25311000000012345678", None, "number_year_mismatch"),  # says 2025, issued 2026
    ("", None, "number_empty"),
    (NUMBER_2026, TODAY + timedelta(days=1), "date_in_future"),
])
def test_a_wrong_fapiao_number_or_date_is_refused(db_url, number, issued_on, code):
    request = file().request
    with pytest.raises(FapiaoError) as refused:
        issue(request.reference, number=number, issued_on=issued_on)
    assert refused.value.code == code and code in staff.STAFF_PROBLEMS
    with session_scope() as session:
        assert requests.get_request(session, CONTOSO, request.reference).state == "requested"
        assert news.pending_news(session, CONTOSO) == []


def test_a_paper_fapiao_has_an_8_digit_number(db_url):
    add_other_partner()
    request = file(customer_id=OTHER_CUSTOMER, invoice_number=OTHER_INVOICE, form="paper").request
    with pytest.raises(FapiaoError) as refused:
        issue(request.reference, partner_id=OTHER_PARTNER)
    assert refused.value.code == "number_wrong_length"
    assert issue(request.reference, partner_id=OTHER_PARTNER, number="01234567").fapiao_number == "01234567"


def test_issuing_and_rejecting_are_final_and_repeats_change_nothing(db_url):
    request = file().request
    first = issue(request.reference)
    assert issue(request.reference) == first  # the same command resent
    with pytest.raises(FapiaoError) as refused:
        issue(request.reference, number="26311000000099999999")
    assert refused.value.code == "already_issued"
    with pytest.raises(FapiaoError) as refused:
        reject(request.reference)
    assert refused.value.code == "already_issued"
    with session_scope() as session:
        assert len(news.pending_news(session, CONTOSO)) == 1  # told once

    other = file(customer_id=NORTHWIND, invoice_number=NORTHWIND_PAID).request
    first_rejection = reject(other.reference, reason="payment_not_received")
    assert reject(other.reference, reason="payment_not_received") == first_rejection
    for attempt in (lambda: issue(other.reference), lambda: reject(other.reference, reason="under_dispute")):
        with pytest.raises(FapiaoError) as refused:
            attempt()
        assert refused.value.code == "already_rejected"
    with session_scope() as session:
        assert len(news.pending_news(session, NORTHWIND)) == 1


def test_a_digital_number_cannot_be_used_twice(db_url):
    issue(file().request.reference)
    northwind = file(customer_id=NORTHWIND, invoice_number=NORTHWIND_PAID).request
    with pytest.raises(FapiaoError) as refused:
        issue(northwind.reference)
    assert refused.value.code == "number_in_use"


def test_a_rejection_needs_a_known_reason_and_other_needs_a_note(db_url):
    request = file().request
    with pytest.raises(FapiaoError) as refused:
        reject(request.reference, reason="because")
    assert refused.value.code == "unknown_reason"
    with pytest.raises(FapiaoError) as refused:
        reject(request.reference, reason="other", note="   ")
    assert refused.value.code == "note_required"
    with pytest.raises(ValueError):
        reject(request.reference, staff_name="  ")  # who did it is always recorded
    assert [kind for kind, _ in events(request.reference)] == ["requested"]


def test_the_history_says_who_did_what_and_when(db_url):
    request = file().request
    issue(request.reference, staff_name="Li Wei")
    with session_scope() as session:
        history = staff.request_history(session, request.reference.lower(), PARTNER)
    assert [(e.kind, e.actor) for e in history] == [
        ("requested", f"customer:{CONTOSO}"), ("issued", f"partner:{PARTNER}:Li Wei"),
        ("notice_recorded", f"partner:{PARTNER}:Li Wei")]
    assert history[1].detail == {"fapiao_number": NUMBER_2026, "issued_on": TODAY.isoformat()}
    assert all(e.at is not None for e in history) and history[0].at <= history[1].at
