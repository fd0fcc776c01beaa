"""The partner desk's domain layer over the seeded demo database (business date 2026-11-25)."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.db import session_scope
from bot.db.models import Customer, Partner, Subscription
from bot.partner import audit
from bot.partner.collections import customer_account, overdue_customers
from bot.partner.customers import CustomerRef, customers_named_in
from bot.partner.directory import look_up
from bot.partner.models import SubscriptionChange
from bot.partner.payables import payables
from bot.partner.subscriptions import (
    ACTIVE, ALREADY, IN_PROGRESS, NEEDS_REASON, SUSPENDED, plan_change, request_change,
)

TODAY = date(2026, 11, 25)
FABRIKAM, CONTOSO = CustomerRef("C-1002", "Fabrikam Inc"), CustomerRef("C-1001", "Contoso Ltd")


def test_the_directory_knows_the_seeded_staff_and_nobody_else(db_url):
    with session_scope(db_url) as s:
        mei = look_up(s, "slack", "T0LAKESHORE", "U0MEICHEN")
        assert (mei.partner_id, mei.name, mei.role) == ("P-01", "Mei Chen", "billing_admin")
        li = look_up(s, "teams", "7d3c0c2e-1a1b-4c4c-9f00-1a5e5b0ca001", "a1a1a1a1-0000-4000-8000-000000000002")
        assert (li.name, li.role) == ("Li Wei", "read_only")
        assert look_up(s, "slack", "T0OTHER", "U0MEICHEN") is None  # same user id, another workspace
        assert look_up(s, "teams", "T0LAKESHORE", "U0MEICHEN") is None  # another platform


@pytest.mark.parametrize("typed, expected", [
    ("contoso invoices", ["C-1001"]), ("how is north wind doing", ["C-1003"]), ("C-1002 pls", ["C-1002"]),
    ("fabrikan", ["C-1002"]), ("康托索的账单", ["C-1001"]), ("tailspn toys", ["C-1004"]),
    ("fabrikam and contoso", ["C-1001", "C-1002"]), ("Lakeshore", []), ("Adatum", []),
])
def test_staff_name_customers_loosely_but_only_their_partners(db_url, typed, expected):
    with session_scope(db_url) as s:
        assert [c.customer_id for c in customers_named_in(s, "P-01", typed)] == expected
        assert customers_named_in(s, "P-99", typed) == []


def test_overdue_customers_with_their_amounts_days_and_what_comes_next(db_url):
    with session_scope(db_url) as s:
        found = overdue_customers(s, "P-01", TODAY)
        assert [o.customer.customer_id for o in found] == ["C-1002"]
        fabrikam = found[0]
        assert fabrikam.overdue_total == Decimal("24380.00") and fabrikam.days_overdue == 56
        assert [i.number for i in fabrikam.invoices] == ["G000200001", "G000200002"]
        assert fabrikam.suspended_since == date(2026, 11, 15) and fabrikam.suspends_on is None
        # Reactivated, it would be suspended again by the policy: 30 days after the oldest due date.
        s.execute(Subscription.__table__.update().values(status="active", suspended_on=None))
        again = overdue_customers(s, "P-01", TODAY)[0]
        assert again.suspends_on == date(2026, 10, 30) and again.suspended_since is None
        assert again.next_reminder is None  # both invoices are past their last reminder
        # On December 2 Contoso's and Tailspin's October invoices are 2 days late: a reminder is
        # due the next day, a suspension 30 days after the due date.
        later = {o.customer.customer_id: o for o in overdue_customers(s, "P-01", date(2026, 12, 2))}
        assert sorted(later) == ["C-1001", "C-1002", "C-1004"]
        assert later["C-1001"].next_reminder == date(2026, 12, 3) and later["C-1001"].suspends_on == date(2026, 12, 30)


def test_a_customers_account_as_staff_see_it(db_url):
    with session_scope(db_url) as s:
        account = customer_account(s, CONTOSO, TODAY)
        assert [i.number for i in account.invoices] == ["G000100002", "G000100001"]
        assert account.outstanding == Decimal("9615.50") and account.overdue == Decimal("0.00")
        assert account.paid_total == Decimal("8240.00") and account.last_payment.reference == "BT-20261020-0417"
        assert [(x.name, x.status) for x in account.subscriptions] == [("Azure plan", "active")]


def test_what_the_partner_owes_21vianet(db_url):
    with session_scope(db_url) as s:
        owed = payables(s, "P-01")
        assert [i.number for i in owed.unpaid] == ["PV-2026-10"] and owed.owed == Decimal("48200.00")
        assert owed.unpaid[0].due_date == TODAY and owed.last_paid.number == "PV-2026-09"
        assert payables(s, "P-99").unpaid == ()


def test_the_policy_decides_what_needs_an_admins_reason(db_url):
    with session_scope(db_url) as s:
        assert plan_change(s, FABRIKAM, SUSPENDED, TODAY).obstacle == ALREADY
        assert plan_change(s, FABRIKAM, ACTIVE, TODAY).obstacle == NEEDS_REASON  # still overdue
        assert plan_change(s, CONTOSO, SUSPENDED, TODAY).obstacle == NEEDS_REASON  # nothing overdue
        assert plan_change(s, CONTOSO, ACTIVE, TODAY).obstacle == ALREADY
        # On December 5 Contoso's October invoice is overdue: suspending it is what the policy says.
        assert plan_change(s, CONTOSO, SUSPENDED, date(2026, 12, 5)).obstacle is None


def test_a_change_is_recorded_first_with_who_when_and_why(db_url):
    with session_scope(db_url) as s:
        plan = plan_change(s, FABRIKAM, ACTIVE, TODAY)
        change = request_change(s, plan, partner_id="P-01", staff_name="Mei Chen", staff_id="slack:T0LAKESHORE:U0MEICHEN",
                                reason="they promised to pay on Friday")
        assert change.state == "pending" and change.reference.startswith("SC-")
    with session_scope(db_url) as s:
        row = s.scalar(select(SubscriptionChange))
        assert (row.customer_id, row.target_status, row.requested_by, row.reason) == \
            ("C-1002", "active", "Mei Chen", "they promised to pay on Friday")
        # Not applied yet: the customer still reads "suspended" until Partner Center has it.
        assert s.scalar(select(Subscription.status).where(Subscription.customer_id == "C-1002")) == "suspended"
        assert plan_change(s, FABRIKAM, ACTIVE, TODAY).obstacle == IN_PROGRESS
        [entry] = audit.entries(s, "P-01", customer_id="C-1002")
        assert (entry.actor, entry.action, entry.reason) == ("Mei Chen", audit.REACTIVATE_REQUESTED,
                                                            "they promised to pay on Friday")
        assert entry.details["reference"] == change.reference and entry.details["against_policy"] is True
        assert audit.entries(s, "P-99") == []  # another partner's log is empty


def test_a_blocked_plan_cannot_be_requested(db_url):
    with session_scope(db_url) as s:
        with pytest.raises(ValueError):
            request_change(s, plan_change(s, FABRIKAM, SUSPENDED, TODAY), partner_id="P-01", staff_name="x",
                           staff_id=None, reason="x")
