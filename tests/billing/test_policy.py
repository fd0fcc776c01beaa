from datetime import date
from decimal import Decimal as D

from bot.billing import policy
from tests.conftest import TODAY


def test_policy_dates_for_an_unpaid_invoice(session):
    pol = policy.customer_policy(session, "C-1001", TODAY)
    assert pol.terms.partner_name == "Lakeshore Cloud Partners"
    assert (pol.terms.reminder_days_before_due, pol.terms.reminder_days_after_due) == (7, 3)
    assert pol.terms.late_fee is None
    (schedule,) = pol.schedules
    assert schedule.invoice.number == "G000100002"
    assert schedule.reminder_before == date(2026, 11, 23)
    assert schedule.reminder_after == date(2026, 12, 3)
    assert schedule.access_impacted_on == date(2026, 12, 30)


def test_paid_up_customer_has_no_schedule(session):
    assert policy.customer_policy(session, "C-1003", TODAY).schedules == ()


def test_suspension_says_since_why_and_what_to_pay(session):
    (s,) = policy.suspensions(session, "C-1002", TODAY)
    assert (s.subscription, s.since, s.reason) == ("Azure plan", date(2026, 11, 15), "non-payment")
    assert s.amount_to_restore == D("24380.00")
    assert [i.number for i in s.overdue] == ["G000200001", "G000200002"]
    assert s.reactivation_business_days == 1


def test_active_customer_has_no_suspension(session):
    assert policy.suspensions(session, "C-1001", TODAY) == []


def test_business_days_skip_weekends():
    assert policy.add_business_days(date(2026, 11, 27), 1) == date(2026, 11, 30)  # Friday -> Monday
    assert policy.add_business_days(date(2026, 11, 25), 1) == date(2026, 11, 26)


def test_business_days_follow_chinas_calendar_with_its_make_up_working_days():
    from bot.billing import policy

    # National Day 2026: October 1-7 are off; Sunday September 20 and Saturday October 10 are
    # make-up working days (调休).
    assert policy.add_business_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert policy.is_business_day(date(2026, 9, 20)) and policy.is_business_day(date(2026, 10, 10))
    assert not policy.is_business_day(date(2026, 10, 5))
    # A year whose holidays are not published yet: Monday to Friday.
    assert policy.add_business_days(date(2027, 3, 5), 1) == date(2027, 3, 8)


def test_a_longer_reactivation_policy_gives_a_later_restore_date(session):
    from bot.billing import policy
    from bot.db.models import CollectionsPolicy

    one_day = policy.suspensions(session, "C-1002", TODAY)[0]
    session.get(CollectionsPolicy, "P-01").reactivation_business_days = 3
    session.flush()
    three_days = policy.suspensions(session, "C-1002", TODAY)[0]
    assert (one_day.reactivation_business_days, three_days.reactivation_business_days) == (1, 3)
    from bot.config import load_settings
    from bot.replies.billing import BillingReplies
    from bot.replies.catalogue import Phrases

    # TODAY is a Wednesday: one business day is Thursday, three are the next Monday.
    render = BillingReplies(Phrases("en", load_settings()), TODAY)
    assert "within one business day after the payment is received: if it reaches us today, by November 26, 2026" \
        in render.suspension(one_day).text
    assert "within 3 business days after the payment is received: if it reaches us today, by November 30, 2026" \
        in render.suspension(three_days).text
