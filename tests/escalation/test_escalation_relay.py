"""The relay against the local 21Vianet API: every fault, rejections, no upstream, the breaker.

Why: an escalation must reach 21Vianet exactly once, whatever the upstream does meanwhile. The
server counts what it really created (`created` in /_admin/stats); that is the number checked.
"""
from __future__ import annotations

import time

import pytest

from bot.escalation.models import State, utcnow
from tests.escalation.helpers import event_kinds, file, row, wait_for

SUMMARIES = ("Reserved instance purchase we never ordered", "Storage billed twice", "Bandwidth we did not use")


def file_three() -> list[str]:
    return [file(summary=summary).reference for summary in SUMMARIES]


def all_sent(references: list[str]) -> bool:
    return all(row(reference).state == State.SENT for reference in references)


def test_happy_path_sends_one_service_request(vianet, worker_factory):
    escalation = file()
    report = worker_factory().relay.run_once()
    assert report.sent == 1
    stats = vianet.stats()
    assert stats["created"] == 1 and stats["create_calls"] == 1
    [upstream] = stats["requests"]
    sent = row(escalation.reference)
    assert sent.state == State.SENT and sent.upstream_id == upstream["Id"] and sent.upstream_status == "open"
    assert sent.attempts == 1 and sent.claim_token is None and sent.last_error is None
    assert upstream["Title"] == f"Invoice dispute {escalation.reference}: Reserved instance purchase we never ordered"
    assert "Tailspin Toys (C-1004)" in upstream["Description"] and "G000400001" in upstream["Description"]
    assert upstream["PrimaryContact"]["FirstName"] == "Lakeshore Cloud Partners"
    assert upstream["SupportTopicId"] == 32444671 and upstream["Severity"] == "moderate"
    assert event_kinds(escalation.reference) == ["created", "send_attempt", "sent"]
    assert worker_factory().relay.run_once().sent == 0  # nothing left to send
    assert vianet.stats()["create_calls"] == 1


@pytest.mark.parametrize(
    "mode,options",
    [
        ("error_500", {}),
        ("error_503", {"retry_after": 0}),
        ("throttle", {"retry_after": 1}),
        ("slow", {"delay": 0.6}),  # beyond the 0.3 s read timeout: the server creates, the client gives up
        ("hang", {}),
        ("drop", {}),
    ],
)
def test_each_fault_loses_nothing_and_files_each_escalation_once(vianet, worker_factory, mode, options):
    references = file_three()
    worker = worker_factory()
    vianet.fault(mode, **options)
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:  # the relay keeps trying while the fault lasts
        worker.relay.run_once()
        time.sleep(0.05)
    during = vianet.stats()
    assert during["create_calls"] >= 1
    for reference in references:
        assert row(reference).state in (State.PENDING, State.SENDING)  # none lost, none given up
    if mode != "slow":
        assert during["created"] == 0

    vianet.clear_faults()
    wait_for(lambda: all_sent(references), timeout=10, step=worker.relay.run_once)
    stats = vianet.stats()
    assert stats["created"] == len(references)
    assert sorted(row(r).upstream_id for r in references) == sorted(r["Id"] for r in stats["requests"])
    if mode == "slow":
        assert stats["replayed"] >= 1  # the retry met the request the server had finished


def test_throttling_honours_retry_after(vianet, worker_factory):
    escalation = file()
    worker = worker_factory()
    vianet.fault("throttle", retry_after=1, count=1)
    before = utcnow()
    report = worker.relay.run_once()
    assert report.retrying == 1
    throttled = row(escalation.reference)
    assert throttled.state == State.PENDING
    assert (throttled.next_attempt_at - before).total_seconds() >= 1.0
    assert "status=429" in throttled.last_error
    worker.relay.run_once()
    assert vianet.stats()["create_calls"] == 1  # no call before Retry-After has passed
    wait_for(lambda: row(escalation.reference).state == State.SENT, timeout=5, step=worker.relay.run_once)
    assert vianet.stats()["created"] == 1


def test_the_request_id_is_the_same_on_every_attempt(vianet, worker_factory):
    escalation = file()
    worker = worker_factory()
    vianet.fault("slow", delay=0.5, count=2)
    wait_for(lambda: row(escalation.reference).state == State.SENT, timeout=10, step=worker.relay.run_once)
    stats = vianet.stats()
    # Two creates the client gave up on were finished by the server: only a stable MS-RequestId
    # turns the later attempts into replays of the first.
    assert stats["created"] == 1 and stats["replayed"] >= 1 and stats["create_calls"] >= 2


def test_an_invalid_request_goes_to_the_partner_queue_with_the_reason(vianet, worker_factory, monkeypatch):
    monkeypatch.setenv("VIANET_SUPPORT_TOPIC_ID", "1")  # no such support topic upstream
    escalation = file()
    report = worker_factory().relay.run_once()
    assert report.queued_for_partner == 1
    queued = row(escalation.reference)
    assert queued.state == State.PARTNER_QUEUE and queued.attempts == 1
    assert queued.queue_reason == "21Vianet rejected the request (HTTP 400, InvalidSupportTopic)"
    assert "status=400" in queued.last_error
    assert vianet.stats()["created"] == 0 and vianet.stats()["create_calls"] == 1  # never retried


def test_refused_credentials_go_to_the_partner_queue(vianet, worker_factory, monkeypatch):
    monkeypatch.setenv("VIANET_API_TOKEN", "not-the-token")
    escalation = file()
    worker_factory().relay.run_once()
    queued = row(escalation.reference)
    assert queued.state == State.PARTNER_QUEUE
    assert queued.queue_reason.startswith("21Vianet refused our credentials (HTTP 401)")
    assert "not-the-token" not in queued.last_error


def test_without_an_upstream_escalations_go_to_the_partner_queue(no_upstream, worker_factory):
    escalation = file()
    report = worker_factory().relay.run_once()
    assert report.queued_for_partner == 1
    queued = row(escalation.reference)
    assert queued.state == State.PARTNER_QUEUE and queued.queue_reason == "no 21Vianet API configured"
    assert queued.attempts == 0


def test_out_of_attempts_goes_to_the_partner_queue(vianet, worker_factory, monkeypatch):
    monkeypatch.setenv("ESCALATION_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("ESCALATION_BREAKER_THRESHOLD", "100")
    escalation = file()
    worker = worker_factory()
    vianet.fault("error_500")
    wait_for(lambda: row(escalation.reference).state == State.PARTNER_QUEUE, timeout=5, step=worker.relay.run_once)
    queued = row(escalation.reference)
    assert queued.attempts == 2 and vianet.stats()["create_calls"] == 2
    assert queued.queue_reason.startswith("21Vianet could not be reached after 2 attempts")


def test_circuit_breaker_stops_calls_then_tries_once_after_the_cool_down(vianet, worker_factory):
    references = [file(summary=f"problem {n}").reference for n in range(5)]
    worker = worker_factory()  # threshold 3, cool-down 0.3 s
    vianet.fault("error_500")
    report = worker.relay.run_once()
    assert report.held_by_breaker and vianet.stats()["create_calls"] == 3
    for _ in range(3):
        worker.relay.run_once()
        worker.poller.run_once()
    assert vianet.stats()["create_calls"] == 3  # open: no calls at all
    assert worker.breaker.state == "open"

    time.sleep(0.35)
    worker.relay.run_once()
    assert vianet.stats()["create_calls"] == 4  # half-open: one trial, which failed
    assert worker.breaker.state == "open"

    vianet.clear_faults()
    time.sleep(0.35)
    wait_for(lambda: all_sent(references), timeout=10, step=worker.relay.run_once)
    assert worker.breaker.state == "closed"
    assert vianet.stats()["created"] == 5
