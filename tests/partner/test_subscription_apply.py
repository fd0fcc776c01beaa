"""Suspensions and reactivations applied to Partner Center (bot/partner/apply.py), against the local
stand-in over HTTP and a real SQLite database: each change reaches Partner Center exactly once,
whatever the stand-in does first (500, 429, a lost answer, a stale etag), and is recorded locally
with its audit entries."""
from __future__ import annotations

import threading
import time
from datetime import date, timedelta

from bot.db import session_scope
from bot.db.models import Customer, Subscription
from bot.integrations.partner_center import PartnerCenterClient
from bot.partner.apply import apply_due_changes, has_upstream
from bot.partner.models import SubscriptionChange, utcnow
from tests.conftest import TODAY
from tests.partner.helpers import (
    CONTOSO,
    FABRIKAM,
    TOKEN,
    actions,
    audit,
    change,
    fast_settings,
    local_subscription,
    request_change,
)


def apply_until_done(client, settings, reference: str, timeout: float = 10.0) -> None:
    """Passes of the worker until the change leaves `pending` (backoffs are a few ms in tests)."""
    deadline = time.monotonic() + timeout
    while change(reference).state == "pending":
        assert time.monotonic() < deadline, f"{reference} still pending"
        apply_due_changes(None, client, settings)
        time.sleep(0.02)


def assert_suspended_once(partner_center, reference: str, *, patch_calls: int = 1) -> None:
    upstream = partner_center.subscription(CONTOSO)
    assert upstream["status"] == "suspended"
    assert upstream["status_changes"] == 1
    assert upstream["patch_calls"] == patch_calls
    row = change(reference)
    assert row.state == "applied" and row.applied_at is not None and row.lease_until is None
    local = local_subscription(CONTOSO)
    assert (local.status, local.suspended_on, local.suspension_reason) == ("suspended", TODAY, "non-payment")
    assert actions(reference) == ["subscription_suspend_requested", "subscription_suspended"]


def test_a_suspension_reaches_partner_center_once_and_is_recorded(partner_center, client):
    settings = fast_settings(partner_center.url)
    before = partner_center.subscription(CONTOSO)["etag"]
    reference = request_change(CONTOSO, "suspended")

    report = apply_due_changes(None, client, settings)

    assert (report.applied, report.unchanged_upstream, report.failed, report.retrying) == (1, 0, 0, 0)
    assert_suspended_once(partner_center, reference)
    _, actor, details = audit(reference)[-1]
    upstream = partner_center.subscription(CONTOSO)
    assert actor == "system"
    assert details["reference"] == reference and details["etag"] == upstream["etag"] != before
    assert details["upstream_status_before"] == "active" and details["patched"] is True
    # Nothing left to do: a second pass neither calls nor changes anything.
    assert apply_due_changes(None, client, settings).applied == 0
    assert partner_center.subscription(CONTOSO)["patch_calls"] == 1


def test_a_reactivation_clears_the_suspension_locally(partner_center, client):
    reference = request_change(FABRIKAM, "active", reason="paid G000200001 and G000200002")
    apply_due_changes(None, client, fast_settings(partner_center.url))
    assert partner_center.subscription(FABRIKAM)["status"] == "active"
    local = local_subscription(FABRIKAM)
    assert (local.status, local.suspended_on, local.suspension_reason) == ("active", None, None)
    assert actions(reference)[-1] == "subscription_reactivated"


def test_500_first_then_applied_once(partner_center, client):
    partner_center.fault("error_500", count=1, method="PATCH")  # the first PATCH fails before it is applied
    reference = request_change(CONTOSO, "suspended")
    settings = fast_settings(partner_center.url)

    first = apply_due_changes(None, client, settings)
    assert first.retrying == 1 and first.held
    row = change(reference)
    assert row.state == "pending" and row.attempts == 1 and "status=500" in row.last_error
    assert row.next_attempt_at is not None and row.lease_until is None

    apply_until_done(client, settings, reference)
    assert_suspended_once(partner_center, reference, patch_calls=1)  # the failed one never reached it
    assert change(reference).attempts == 2


def test_429_is_waited_out_as_asked(partner_center, client):
    partner_center.fault("throttle", count=1, retry_after=30)  # even the GET is throttled
    reference = request_change(CONTOSO, "suspended")
    settings = fast_settings(partner_center.url)

    started = utcnow()
    report = apply_due_changes(None, client, settings)
    assert report.retrying == 1 and report.held
    row = change(reference)
    assert row.next_attempt_at >= started + timedelta(seconds=30)  # never earlier than Retry-After
    assert apply_due_changes(None, client, settings).applied == 0  # not due yet

    later = utcnow() + timedelta(seconds=31)
    assert apply_due_changes(None, client, settings, now=later).applied == 1
    assert_suspended_once(partner_center, reference)


def test_lost_answer_after_the_patch_was_applied(partner_center, client):
    """The stand-in applies the PATCH, then drops the connection: the retry's GET sees the status
    already there, and nothing is PATCHed again."""
    partner_center.fault("apply_then_drop", count=1, method="PATCH")
    reference = request_change(CONTOSO, "suspended")
    settings = fast_settings(partner_center.url)

    assert apply_due_changes(None, client, settings).retrying == 1
    assert partner_center.subscription(CONTOSO)["status"] == "suspended"  # it did get there
    assert change(reference).state == "pending"

    apply_until_done(client, settings, reference)
    assert_suspended_once(partner_center, reference, patch_calls=1)
    assert audit(reference)[-1][2]["patched"] is False


def test_lost_answer_as_a_500_after_applying(partner_center, client):
    partner_center.fault("apply_then_500", count=1, method="PATCH")
    reference = request_change(CONTOSO, "suspended")
    settings = fast_settings(partner_center.url)
    apply_until_done(client, settings, reference)
    assert_suspended_once(partner_center, reference, patch_calls=1)


class PortalEditsBetweenGetAndPatch(PartnerCenterClient):
    """Someone edits the subscription in the Partner Center portal right after each of our first
    `times` GETs, so the etag we hold is stale when our PATCH arrives."""

    def __init__(self, admin, customer_id: str, times: int, **changes):
        super().__init__(admin.url, TOKEN, timeout=(0.5, 0.5))
        self.admin, self.customer_id, self.times, self.changes = admin, customer_id, times, changes

    def get_subscription(self, customer_tenant_id, subscription_id):
        found = super().get_subscription(customer_tenant_id, subscription_id)
        if self.times > 0:
            self.times -= 1
            self.admin.change_as_portal(self.customer_id, **self.changes)
        return found


def test_stale_etag_is_read_again_and_patched_once(partner_center):
    reference = request_change(CONTOSO, "suspended")
    with PortalEditsBetweenGetAndPatch(partner_center, CONTOSO, times=1, friendlyName="Azure plan (renamed)") as pc:
        report = apply_due_changes(None, pc, fast_settings(partner_center.url))
    assert report.applied == 1
    upstream = partner_center.subscription(CONTOSO)
    assert upstream["patch_calls"] == 2  # the 412, then the one that applied
    assert upstream["status_changes"] == 1 and upstream["status"] == "suspended"
    assert change(reference).attempts == 1


def test_stale_etag_where_someone_else_already_suspended_it(partner_center):
    reference = request_change(CONTOSO, "suspended")
    with PortalEditsBetweenGetAndPatch(partner_center, CONTOSO, times=1, status="suspended") as pc:
        report = apply_due_changes(None, pc, fast_settings(partner_center.url))
    assert report.applied == 1 and report.unchanged_upstream == 1
    assert partner_center.subscription(CONTOSO)["patch_calls"] == 1  # only the 412; no second PATCH
    assert local_subscription(CONTOSO).status == "suspended"


def test_stale_etag_twice_is_retried_on_a_later_attempt(partner_center):
    reference = request_change(CONTOSO, "suspended")
    settings = fast_settings(partner_center.url)
    with PortalEditsBetweenGetAndPatch(partner_center, CONTOSO, times=2, friendlyName="renamed") as pc:
        first = apply_due_changes(None, pc, settings)
        assert first.retrying == 1 and not first.held  # a conflict is no outage
        assert "stale etag" in change(reference).last_error
        apply_until_done(pc, settings, reference)
    assert partner_center.subscription(CONTOSO)["status_changes"] == 1


def test_permanent_rejection_fails_with_the_reason(partner_center, client):
    partner_center.change_as_portal(FABRIKAM, status="deleted")  # a deleted subscription cannot come back
    reference = request_change(FABRIKAM, "active", reason="paid")
    report = apply_due_changes(None, client, fast_settings(partner_center.url))
    assert report.failed == 1
    row = change(reference)
    assert row.state == "failed" and "status=409" in row.last_error and row.attempts == 1
    action, _, details = audit(reference)[-1]
    assert action == "subscription_reactivate_failed"
    assert (details["http_status"], details["code"], details["error"]) == (409, "InvalidStatusTransition",
                                                                          "PartnerCenterRejected")
    assert local_subscription(FABRIKAM).status == "suspended"  # nothing changed locally


def test_a_refused_token_is_retried_not_failed(partner_center):
    reference = request_change(CONTOSO, "suspended")
    settings = fast_settings(partner_center.url)
    with PartnerCenterClient(partner_center.url, "expired-token", timeout=(0.5, 0.5)) as wrong:
        report = apply_due_changes(None, wrong, settings)
    assert report.retrying == 1 and report.held
    assert change(reference).state == "pending" and "status=401" in change(reference).last_error
    with PartnerCenterClient(partner_center.url, TOKEN, timeout=(0.5, 0.5)) as fixed:
        apply_until_done(fixed, settings, reference)
    assert_suspended_once(partner_center, reference)


def test_unknown_upstream_subscription_fails(partner_center, client):
    reference = request_change(CONTOSO, "suspended")
    with session_scope() as session:  # an id Partner Center has never heard of
        session.get(Subscription, change(reference).subscription_id).upstream_id = "00000000-0000-4000-8000-000000000000"
    assert apply_due_changes(None, client, fast_settings(partner_center.url)).failed == 1
    row = change(reference)
    assert row.state == "failed" and "status=404" in row.last_error and row.attempts == 1


def test_attempts_used_up_fail_the_change(partner_center, client):
    partner_center.fault("error_503", retry_after=0)  # until cleared
    reference = request_change(CONTOSO, "suspended")
    settings = fast_settings(partner_center.url, attempts=3)
    apply_until_done(client, settings, reference)
    row = change(reference)
    assert row.state == "failed" and row.attempts == 3
    action, _, details = audit(reference)[-1]
    assert action == "subscription_suspend_failed" and details["gave_up"] == "attempts_exhausted"
    assert partner_center.subscription(CONTOSO)["status"] == "active"


def test_without_partner_center_the_change_is_recorded(db_url):
    settings = fast_settings(None)
    assert not has_upstream(settings)
    reference = request_change(CONTOSO, "suspended")
    report = apply_due_changes(None, None, settings, today=date(2026, 11, 26))
    assert report.recorded == 1
    assert change(reference).state == "recorded"
    local = local_subscription(CONTOSO)
    assert (local.status, local.suspended_on) == ("suspended", date(2026, 11, 26))
    action, _, details = audit(reference)[-1]
    assert action == "subscription_suspend_recorded" and details["why"] == "no_partner_center"


def test_a_customer_without_tenant_id_is_recorded(partner_center, client):
    with session_scope() as session:
        session.get(Customer, CONTOSO).tenant_id = None
    reference = request_change(CONTOSO, "suspended")
    assert has_upstream(fast_settings(partner_center.url))
    assert apply_due_changes(None, client, fast_settings(partner_center.url)).recorded == 1
    assert audit(reference)[-1][2]["why"] == "no_customer_tenant_id"
    assert partner_center.subscription(CONTOSO)["get_calls"] == 0


def test_changes_to_one_subscription_are_applied_in_order(partner_center, client):
    partner_center.fault("error_500", count=1, method="PATCH")
    suspend = request_change(CONTOSO, "suspended")
    reactivate = request_change(CONTOSO, "active", reason="paid after all")
    settings = fast_settings(partner_center.url)
    apply_due_changes(None, client, settings)  # the suspension fails once; the reactivation must wait
    assert change(reactivate).state == "pending" and change(reactivate).attempts == 0
    apply_until_done(client, settings, reactivate)
    assert change(suspend).applied_at <= change(reactivate).applied_at
    upstream = partner_center.subscription(CONTOSO)
    assert upstream["status"] == "active" and upstream["status_changes"] == 2


def test_two_workers_racing_apply_each_change_once(partner_center):
    """Two workers (threads, one client each) drain the same outbox at the same time, the
    stand-in slowed down so their passes overlap."""
    partner_center.fault("slow", delay=0.05)
    references = [request_change(CONTOSO, "suspended"), request_change(FABRIKAM, "active", reason="paid")]
    settings = fast_settings(partner_center.url, lease_seconds=30)
    barrier = threading.Barrier(2)
    reports = []

    def worker():
        with PartnerCenterClient(partner_center.url, TOKEN, timeout=(0.5, 2)) as pc:
            barrier.wait()
            reports.append(apply_due_changes(None, pc, settings))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    partner_center.clear_faults()

    assert sum(r.applied for r in reports) == 2
    for customer_id, reference in zip((CONTOSO, FABRIKAM), references):
        upstream = partner_center.subscription(customer_id)
        assert upstream["status_changes"] == 1 and upstream["patch_calls"] == 1 and upstream["get_calls"] == 1
        assert change(reference).state == "applied" and change(reference).attempts == 1
        assert actions(reference).count(actions(reference)[-1]) == 1


def test_a_worker_whose_lease_ran_out_is_overtaken_and_records_nothing(partner_center):
    """Worker A's PATCH is held by the stand-in past A's lease; worker B takes the change over and
    applies it; A's PATCH then meets a stale etag, reads again, sees it done, and records nothing."""
    partner_center.fault("slow", delay=1.5, count=1, method="PATCH")
    reference = request_change(CONTOSO, "suspended")
    settings = fast_settings(partner_center.url, lease_seconds=0.5)
    reports = {}

    def worker(name):
        with PartnerCenterClient(partner_center.url, TOKEN, timeout=(0.5, 5)) as pc:
            reports[name] = apply_due_changes(None, pc, settings)

    first = threading.Thread(target=worker, args=("a",))
    first.start()
    time.sleep(0.8)  # A's lease (0.5 s) has run out; its PATCH is still held
    worker("b")
    first.join(10)

    assert reports["b"].applied == 1 and reports["a"].applied == 0
    upstream = partner_center.subscription(CONTOSO)
    assert upstream["status_changes"] == 1 and upstream["status"] == "suspended"
    assert change(reference).state == "applied" and change(reference).attempts == 2
    assert actions(reference) == ["subscription_suspend_requested", "subscription_suspended"]


def test_a_change_whose_worker_died_is_picked_up_after_its_lease(partner_center, client):
    reference = request_change(CONTOSO, "suspended")
    claimed_at = utcnow()
    with session_scope() as session:  # what a worker killed right after claiming leaves behind
        row = session.get(SubscriptionChange, change(reference).id)
        row.attempts, row.lease_until = 1, claimed_at + timedelta(seconds=60)
    settings = fast_settings(partner_center.url)
    assert apply_due_changes(None, client, settings).applied == 0  # the lease still holds
    assert apply_due_changes(None, client, settings, now=claimed_at + timedelta(seconds=61)).applied == 1
    assert_suspended_once(partner_center, reference)
    assert change(reference).attempts == 2
