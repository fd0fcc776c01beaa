"""The handoff domain on a real (SQLite) database: queue, claim, replies, targets, satisfaction."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.config import ConfigError
from bot.db import session_scope
from bot.handoff import queue as desk
from bot.handoff.hours import StaffedHours
from bot.handoff.models import (AGENT_MESSAGE, CLAIMED, CLOSED, NOTICE, PAUSE, RELEASED, RESUME, WAITING,
                                HandoffDelivery, SupportAgent, SupportPolicy)
from bot.handoff.report import handoff_report, percentile

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)  # Wednesday 11:00 in Shanghai


def agent(session, login: str) -> SupportAgent:
    return session.scalar(select(SupportAgent).where(SupportAgent.login == login))


def ask(session, conversation: str, customer: str = "C-1001", partner: str = "P-01", now=T0, **kw):
    return desk.request_handoff(session, conversation_id=conversation, partner_id=partner, channel="widget",
                                customer_id=customer, requester="Contoso", reason=kw.pop("reason", "asked"),
                                now=now, **kw)


def outbox(session, handoff_id: int) -> list[tuple[str, str | None]]:
    rows = session.scalars(select(HandoffDelivery).where(HandoffDelivery.handoff_id == handoff_id)
                           .order_by(HandoffDelivery.id)).all()
    return [(r.kind, json.loads(r.message)["text"] if r.message else None) for r in rows]


def test_a_request_joins_the_queue_once_and_says_how_many_wait_ahead(session):
    first = ask(session, "conv-1")
    second = ask(session, "conv-2", customer="C-1002", now=T0 + timedelta(seconds=5))
    again = ask(session, "conv-1", now=T0 + timedelta(seconds=9))
    assert first.created and first.ahead == 0 and first.opens_at is None
    assert second.created and second.ahead == 1
    assert not again.created and again.handoff.id == first.handoff.id and again.ahead == 0


def test_outside_staffed_hours_the_request_is_kept_and_the_clock_starts_at_opening(session):
    session.get(SupportPolicy, "P-01").staffed_hours = "Mon-Fri 09:00-18:00"  # seeded: always
    friday_night = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)  # Friday 20:00 in Shanghai
    made = ask(session, "conv-late", now=friday_night)
    assert made.opens_at is not None and made.opens_at.isoformat() == "2026-11-30T09:00:00+08:00"
    assert desk.aware(made.handoff.clock_starts_at) == made.opens_at
    assert made.handoff.status == WAITING


def test_hours_are_parsed_strictly():
    hours = StaffedHours.parse("Mon-Fri 09:00-18:00; Sat 10:00-14:00", "Asia/Shanghai")
    saturday_noon = datetime(2026, 11, 28, 4, 0, tzinfo=timezone.utc)
    assert hours.is_staffed(saturday_noon)
    assert hours.next_opening(datetime(2026, 11, 28, 7, 0, tzinfo=timezone.utc)).isoformat() == "2026-11-30T09:00:00+08:00"
    assert StaffedHours.parse("always", "UTC").always
    for bad in ("Mon-Fri", "Mon-Fri 18:00-09:00", "Xyz 09:00-10:00", "Mon 25:00-26:00"):
        with pytest.raises(ConfigError):
            StaffedHours.parse(bad, "UTC")


def test_exactly_one_of_two_agents_racing_for_a_conversation_wins(db_url):
    with session_scope(db_url) as session:
        handoff_id = ask(session, "conv-race").handoff.id
    results: list[str] = []
    barrier = threading.Barrier(2)

    def grab(login: str) -> None:
        barrier.wait()
        try:
            with session_scope(db_url) as session:
                desk.claim(session, agent(session, login), handoff_id)
            results.append("won")
        except desk.HandoffError as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=grab, args=(login,)) for login in ("ana", "bo")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["already_claimed", "won"]
    with session_scope(db_url) as session:
        assert [kind for kind, _ in outbox(session, handoff_id)] == [PAUSE, NOTICE]


def test_another_partners_agent_cannot_see_or_touch_the_conversation(session):
    handoff_id = ask(session, "conv-iso").handoff.id
    hana = agent(session, "hana")
    assert desk.queue(session, "P-03", T0) == []
    for act in (lambda: desk.claim(session, hana, handoff_id), lambda: desk.agents_handoff(session, hana, handoff_id)):
        with pytest.raises(desk.HandoffError) as refused:
            act()
        assert refused.value.code == "not_found"
    assert session.get(desk.Handoff, handoff_id).status == WAITING


def test_replies_release_and_close_go_out_in_order_and_targets_are_counted(session):
    ana = agent(session, "ana")
    handoff_id = ask(session, "conv-live").handoff.id
    desk.claim(session, ana, handoff_id, now=T0 + timedelta(seconds=30))
    desk.reply(session, ana, handoff_id, "Hello, I'm looking at your invoice now.", now=T0 + timedelta(seconds=200))
    handoff = session.get(desk.Handoff, handoff_id)
    assert handoff.first_response_breached  # 200 s against the 120 s target
    assert desk.customer_wrote(session, "conv-live", now=T0 + timedelta(seconds=210)) == CLAIMED
    desk.reply(session, ana, handoff_id, "It's corrected.", now=T0 + timedelta(seconds=240))
    assert handoff.next_response_breaches == 0
    desk.customer_wrote(session, "conv-live", now=T0 + timedelta(seconds=250))
    desk.reply(session, ana, handoff_id, "Anything else?", now=T0 + timedelta(seconds=900))
    assert handoff.next_response_breaches == 1
    desk.close(session, ana, handoff_id, now=T0 + timedelta(seconds=960))
    assert handoff.status == CLOSED
    kinds = outbox(session, handoff_id)
    assert [k for k, _ in kinds] == [PAUSE, NOTICE, AGENT_MESSAGE, AGENT_MESSAGE, AGENT_MESSAGE, RESUME, NOTICE]
    assert kinds[1][1] == "Ana Agent from support has joined the chat."
    assert "from 1 (poor) to 5 (excellent)" in kinds[-1][1]
    assert desk.record_satisfaction(session, "conv-live", 4).satisfaction == 4
    assert desk.record_satisfaction(session, "conv-live", 5) is None  # asked once, answered once
    report = handoff_report(session, "P-01", now=T0 + timedelta(seconds=1000))
    assert (report.closed, report.breaches, report.satisfaction_average) == (1, 2, 4.0)
    assert report.first_response_median == 200


def test_only_the_claiming_agent_speaks_and_a_waiting_request_can_be_cancelled(session):
    ana, bo = agent(session, "ana"), agent(session, "bo")
    handoff_id = ask(session, "conv-own").handoff.id
    with pytest.raises(desk.HandoffError) as not_claimed:
        desk.reply(session, ana, handoff_id, "hi")
    assert not_claimed.value.code == "not_open"
    desk.claim(session, ana, handoff_id)
    with pytest.raises(desk.HandoffError) as not_yours:
        desk.reply(session, bo, handoff_id, "hi")
    assert not_yours.value.code == "not_yours"
    assert desk.cancel_handoff(session, "conv-own") is None  # claimed: the agent's to hand back
    desk.release(session, ana, handoff_id)
    assert session.get(desk.Handoff, handoff_id).status == RELEASED
    waiting = ask(session, "conv-own")  # a new request after the hand-back
    assert waiting.created
    assert desk.cancel_handoff(session, "conv-own").status == "cancelled"


def test_the_queue_puts_the_closest_to_breaching_first(session):
    old = ask(session, "conv-old", now=T0).handoff.id
    new = ask(session, "conv-new", customer="C-1003", now=T0 + timedelta(seconds=60)).handoff.id
    entries = desk.queue(session, "P-01", now=T0 + timedelta(seconds=150))
    assert [e.handoff.id for e in entries] == [old, new]
    assert entries[0].breached and entries[0].seconds_to_breach == -30 and not entries[1].breached
    assert entries[1].ahead == 1


def test_percentile_is_nearest_rank():
    assert percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9) == 90
    assert percentile([5], 0.9) == 5 and percentile([], 0.5) is None
