"""What the records settle before anything is escalated, on the seeded demo data."""
from decimal import Decimal as D

from bot.billing import disputes as d
from bot.billing.views import InvoiceView, LineView


def test_unresolvable_charge_is_escalated_to_21vianet(session):
    a = d.assess_dispute(session, "C-1004", "G000400001", "Reserved instance purchase")
    assert (a.outcome, a.route, a.amount, a.line.description) == (d.ESCALATE, "vianet", D("4500.00"),
                                                                   "Reserved instance purchase")


def test_duplicate_payment_goes_to_the_partner_not_21vianet(session):
    a = d.assess_dispute(session, "C-1003", "G000300001", d.CHARGED_TWICE)
    assert (a.outcome, a.route, a.amount) == (d.PARTNER_REFUND, "partner", D("5300.00"))
    r = d.assess_refund(session, "C-1003", "G000300001")
    assert (r.outcome, r.amount) == (d.PARTNER_REFUND, D("5300.00"))


def test_already_paid_is_settled_by_the_payment_record(session):
    a = d.assess_dispute(session, "C-1001", "G000100001", d.ALREADY_PAID)
    assert a.outcome == d.SETTLED_PAID and not a.needs_filing


def test_claimed_payment_without_a_record_goes_to_the_partner(session):
    a = d.assess_dispute(session, "C-1001", "G000100002", d.ALREADY_PAID)
    assert (a.outcome, a.route) == (d.PARTNER_CORRECTION, "partner")


def test_a_partly_paid_invoice_is_not_settled_as_paid(session):
    from datetime import date
    from bot.db.models import Invoice, Payment
    from sqlalchemy import select
    invoice = session.scalars(select(Invoice).where(Invoice.number == "G000100002")).one()
    session.add(Payment(invoice_id=invoice.id, paid_on=date(2026, 11, 20), amount=D("5000.00"), method="card",
                        reference="CARD-1"))
    session.flush()
    a = d.assess_dispute(session, "C-1001", "G000100002", d.ALREADY_PAID)
    assert (a.outcome, a.amount) == (d.PARTNER_CORRECTION, D("4615.50"))


def test_charged_twice_without_duplicate_lines_is_explained_by_the_lines(session):
    assert d.assess_dispute(session, "C-1001", "G000100002", d.CHARGED_TWICE).outcome == d.SETTLED_LINES


def test_the_same_line_twice_is_a_correction_for_the_partner():
    inv = InvoiceView("G000000009", "2026-10", None, None, "CNY", D("20.00"),
                      (LineView("Storage", D("10.00")), LineView("Storage", D("10.00"))), ())
    assert d.duplicate_lines(inv) == [LineView("Storage", D("10.00"))]


def test_the_total_is_explained_by_the_lines(session):
    assert d.assess_dispute(session, "C-1001", "G000100002", d.WHOLE_INVOICE).outcome == d.SETTLED_LINES


def test_nothing_to_refund_without_an_overpayment(session):
    assert not d.assess_refund(session, "C-1001", "G000100001").needs_filing


def test_foreign_invoice_is_not_assessed(session):
    assert d.assess_dispute(session, "C-1001", "G000400001", "Reserved instance purchase") is None
    assert d.assess_refund(session, "C-1001", "G000300001") is None


def test_the_same_line_billed_twice_on_a_real_invoice_is_a_partner_correction(session):
    from datetime import date
    from bot.db.models import Invoice, InvoiceLine

    invoice = Invoice(number="G000100009", customer_id="C-1001", period="2026-08", issue_date=date(2026, 9, 1),
                      due_date=date(2026, 9, 30), currency="CNY", total=D("2991.00"), status="unpaid")
    invoice.lines = [InvoiceLine(position=1, description="Storage", amount=D("1495.50")),
                     InvoiceLine(position=2, description="Storage", amount=D("1495.50"))]
    session.add(invoice)
    session.flush()
    a = d.assess_dispute(session, "C-1001", "G000100009", d.CHARGED_TWICE)
    assert (a.outcome, a.route, a.line, a.amount) == (d.PARTNER_CORRECTION, "partner", LineView("Storage", D("1495.50")),
                                                      D("1495.50"))
    assert a.problem == "billed twice: Storage"
