"""The customer's side of fapiao requests: what is filed, what is refused and why, duplicates, status.

Why: the partner issues exactly what is recorded here, so a request must carry the buyer's
registered facts, be refused when the law or the partner's policy says no, never be filed twice
for the same invoice, and no customer may see or request against another's invoices.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, update

from bot.db import session_scope
from bot.db.models import Invoice, Payment
from bot.fapiao import requests
from bot.fapiao.models import CustomerTaxProfile, FapiaoPolicy, FapiaoRequest, State
from bot.fapiao.policy import fapiao_policy, policy_for_customer, set_fapiao_policy, tax_profile
from tests.conftest import TODAY
from tests.fapiao.helpers import (
    CONTOSO,
    CONTOSO_PAID,
    CONTOSO_REGISTERED_NAME,
    CONTOSO_TAX_ID,
    CONTOSO_UNPAID,
    FABRIKAM,
    FABRIKAM_UNPAID,
    NORTHWIND,
    NORTHWIND_PAID,
    PARTNER,
    TAILSPIN,
    count_requests,
    events,
    file,
    reject,
)


def test_the_seeded_tax_facts_and_policy(session):
    contoso = tax_profile(session, CONTOSO)
    assert (contoso.registered_name, contoso.trading_name) == (CONTOSO_REGISTERED_NAME, "Contoso Ltd")
    assert (contoso.taxpayer_type, contoso.tax_id) == ("general", "91310000MA1FL0B106")
    assert contoso.has_special_details and contoso.bank_account == "121909876510801"
    fabrikam = tax_profile(session, FABRIKAM)
    assert fabrikam.taxpayer_type == "small_scale" and not fabrikam.has_special_details
    assert tax_profile(session, NORTHWIND).taxpayer_type == "general"
    assert tax_profile(session, TAILSPIN).taxpayer_type == "small_scale"
    policy = fapiao_policy(session, PARTNER)
    assert (policy.issue_business_days, policy.offers_special, policy.offers_paper, policy.note) == (3, True, False, None)
    assert policy_for_customer(session, FABRIKAM) == policy
    assert fapiao_policy(session, "P-99") is None and tax_profile(session, "C-9999") is None


def test_the_summary_before_confirming_is_prefilled_and_records_nothing(session):
    draft = requests.prepare_request(session, CONTOSO, invoice_number=CONTOSO_PAID, fapiao_type="special",
                                     today=TODAY)
    assert draft.ok and draft.problem is None and draft.existing is None
    assert (draft.title, draft.tax_id, draft.email) == (CONTOSO_REGISTERED_NAME, CONTOSO_TAX_ID,
                                                        "finance@contoso.example")
    assert (draft.bank_name, draft.bank_account) == ("招商银行上海分行营业部", "121909876510801")
    assert (draft.address, draft.phone) == ("上海市浦东新区世纪大道100号", "021-58881234")
    assert draft.invoice.number == CONTOSO_PAID and draft.invoice.total == Decimal("8240.00")
    assert draft.form == "digital"
    # Wednesday 25 November + 3 business days: Thursday, Friday, Monday.
    assert (draft.issue_business_days, draft.due_by) == (3, date(2026, 11, 30))
    assert session.scalar(select(FapiaoRequest.id)) is None


def test_an_ordinary_request_is_filed_with_the_buyers_registered_facts(db_url):
    filing = file(fapiao_type="ordinary", email="ap@contoso.example")
    assert filing.created and filing.problem is None
    r = filing.request
    assert r.reference.startswith("FP-") and len(r.reference) == 9
    assert (r.customer_id, r.partner_id, r.invoice_number) == (CONTOSO, PARTNER, CONTOSO_PAID)
    assert (r.fapiao_type, r.form, r.state) == ("ordinary", "digital", State.REQUESTED)
    assert (r.amount, r.currency) == (Decimal("8240.00"), "CNY") and isinstance(r.amount, Decimal)
    assert (r.title, r.tax_id, r.email) == (CONTOSO_REGISTERED_NAME, CONTOSO_TAX_ID, "ap@contoso.example")
    assert r.bank_name is None and r.address is None  # an ordinary fapiao does not need them
    assert (r.requested_on, r.due_by, r.fapiao_number, r.issued_on) == (TODAY, date(2026, 11, 30), None, None)
    assert events(r.reference) == [("requested", f"customer:{CONTOSO}")]
    assert count_requests() == 1


def test_a_special_request_is_filed_for_a_general_taxpayer(db_url):
    filing = file(customer_id=NORTHWIND, invoice_number=NORTHWIND_PAID, fapiao_type="special",
                  title="罗斯文贸易(深圳)有限公司", tax_id="91440300 ma5g2n8t4w")
    assert filing.created
    r = filing.request
    assert (r.fapiao_type, r.title, r.tax_id) == ("special", "罗斯文贸易（深圳）有限公司", "91440300MA5G2N8T4W")
    assert (r.bank_name, r.bank_account, r.address, r.phone) == (
        "中国银行深圳福田支行", "745812349876", "深圳市福田区深南大道6008号", "0755-83451234")
    assert r.amount == Decimal("5300.00")  # the invoice total, although it was paid twice


def test_special_is_refused_for_a_small_scale_taxpayer(db_url):
    # Fabrikam (小规模纳税人) owes both invoices, but the taxpayer rule is told first: paying would not help.
    fabrikam = file(customer_id=FABRIKAM, invoice_number=FABRIKAM_UNPAID, fapiao_type="special")
    assert (fabrikam.request, fabrikam.created, fabrikam.problem) == (None, False, "not_general_taxpayer")
    assert file(customer_id=FABRIKAM, invoice_number=FABRIKAM_UNPAID).problem == "invoice_unpaid"
    with session_scope() as session:
        # before any invoice is named, so the conversation can explain at once
        assert requests.type_problem(session, FABRIKAM, "special") == "not_general_taxpayer"
        assert requests.type_problem(session, FABRIKAM, "ordinary") is None
        assert requests.type_problem(session, CONTOSO, "special") is None
        assert requests.type_problem(session, CONTOSO, "ordinary", form="paper") == "paper_not_offered"
        invoice = session.scalars(select(Invoice).where(Invoice.number == "G000400001")).one()
        session.add(Payment(invoice_id=invoice.id, paid_on=TODAY, amount=invoice.total, method="bank_transfer",
                            reference="BT-TEST"))
    special = file(customer_id=TAILSPIN, invoice_number="G000400001", fapiao_type="special")
    assert (special.request, special.problem) == (None, "not_general_taxpayer")
    ordinary = file(customer_id=TAILSPIN, invoice_number="G000400001", fapiao_type="ordinary")
    assert ordinary.created and ordinary.request.fapiao_type == "ordinary"
    assert count_requests() == 1


def test_an_unpaid_invoice_is_refused(db_url):
    assert file(invoice_number=CONTOSO_UNPAID).problem == "invoice_unpaid"
    assert file(customer_id=FABRIKAM, invoice_number=FABRIKAM_UNPAID).problem == "invoice_unpaid"
    assert count_requests() == 0


def test_a_foreign_invoice_gets_the_same_answer_as_a_missing_one(db_url):
    foreign = file(customer_id=FABRIKAM, invoice_number=CONTOSO_PAID)  # Contoso's, paid
    missing = file(customer_id=FABRIKAM, invoice_number="G000999999")
    nonsense = file(customer_id=FABRIKAM, invoice_number="last month")
    assert foreign == missing == nonsense
    assert foreign.problem == "no_invoice" and foreign.request is None
    with session_scope() as session:
        draft = requests.prepare_request(session, FABRIKAM, invoice_number=CONTOSO_PAID, fapiao_type="ordinary",
                                         today=TODAY)
        assert draft.invoice is None and draft.title is None  # nothing of Contoso's leaks into the summary
    assert count_requests() == 0


def test_typed_buyer_details_must_be_the_registered_ones(db_url):
    assert file(tax_id="91310000MA1FL0B107").problem == "tax_id_bad_check_digit"
    assert file(tax_id="91310000MA1FL0B1").problem == "tax_id_wrong_length"
    assert file(tax_id="91310000MA1FLOB106").problem == "tax_id_bad_characters"
    assert file(tax_id="").problem == "tax_id_empty"
    assert file(tax_id="91440300MA5G2N8T4W").problem == "tax_id_not_registered"  # valid, but Northwind's
    assert file(title="Contoso Ltd").problem == "title_trading_name"
    assert file(title="康托索科技有限公司").problem == "title_mismatch"
    assert file(email="finance at contoso").problem == "email_invalid"
    assert count_requests() == 0
    assert set(requests.REFUSALS) >= {"tax_id_bad_check_digit", "title_trading_name", "email_invalid",
                                      "not_general_taxpayer", "invoice_unpaid", "no_invoice"}


def test_the_partners_policy_and_the_customers_facts_decide(db_url):
    with session_scope() as session:
        set_fapiao_policy(session, PARTNER, offers_special=False)
    assert file(fapiao_type="special").problem == "special_not_offered"
    assert file(form="paper").problem == "paper_not_offered"
    with session_scope() as session:
        session.execute(update(CustomerTaxProfile).where(CustomerTaxProfile.customer_id == NORTHWIND)
                        .values(bank_account=None))
        set_fapiao_policy(session, PARTNER, offers_special=True, offers_paper=True)
    assert file(customer_id=NORTHWIND, invoice_number=NORTHWIND_PAID, fapiao_type="special").problem == \
        "special_details_missing"
    paper = file(form="paper")
    assert paper.created and paper.request.form == "paper"
    with session_scope() as session:
        session.execute(delete(CustomerTaxProfile).where(CustomerTaxProfile.customer_id == NORTHWIND))
        session.execute(update(CustomerTaxProfile).where(CustomerTaxProfile.customer_id == CONTOSO)
                        .values(email=None))
    assert file(customer_id=NORTHWIND, invoice_number=NORTHWIND_PAID).problem == "no_tax_profile"
    with session_scope() as session:
        session.execute(delete(FapiaoPolicy))
    assert file(customer_id=NORTHWIND, invoice_number=NORTHWIND_PAID).problem == "not_offered"


def test_an_email_is_needed_when_none_is_on_file(db_url):
    with session_scope() as session:
        session.execute(update(CustomerTaxProfile).where(CustomerTaxProfile.customer_id == CONTOSO)
                        .values(email=None))
    assert file().problem == "email_empty"
    assert file(email="ＡＰ＠contoso.example").request.email == "AP@contoso.example"


def test_a_repeated_request_answers_with_the_first_reference(db_url):
    first = file(fapiao_type="special")
    again = file(fapiao_type="special", invoice_number=" g000100001 ", email="other@contoso.example")
    assert first.created and not again.created and again.problem is None
    assert again.request.reference == first.request.reference
    assert again.request.email == "finance@contoso.example"  # the first one's, unchanged
    assert count_requests() == 1
    with session_scope() as session:
        draft = requests.prepare_request(session, CONTOSO, invoice_number=CONTOSO_PAID, fapiao_type="special",
                                         today=TODAY)
        assert not draft.ok and draft.existing.reference == first.request.reference and draft.problem is None


def test_the_other_type_for_the_same_invoice_is_refused_with_the_first_reference(db_url):
    first = file(fapiao_type="special")
    ordinary = file(fapiao_type="ordinary")
    assert (ordinary.created, ordinary.problem) == (False, "other_type_requested")
    assert ordinary.request.reference == first.request.reference and ordinary.request.fapiao_type == "special"
    assert count_requests() == 1


def test_a_rejected_request_can_be_filed_again(db_url):
    first = file(fapiao_type="special")
    assert reject(first.request.reference, reason="issued_elsewhere").state == State.REJECTED
    second = file(fapiao_type="special")
    assert second.created and second.request.reference != first.request.reference
    third = file(fapiao_type="special")
    assert not third.created and third.request.reference == second.request.reference
    assert count_requests() == 2
    other_type = file(fapiao_type="ordinary")  # after a rejection the type can change too, once
    assert other_type.problem == "other_type_requested"


def test_a_concurrent_filing_for_the_same_invoice_returns_the_winner(db_url, monkeypatch):
    """The other writer commits between our look-up and our insert: the unique active invoice stops
    us, the SAVEPOINT is rolled back, and the caller's own work in the transaction survives."""
    winner = file(fapiao_type="special")
    real_lookup = requests._live_request
    calls = []

    def missing_it_first(session, invoice_id):
        calls.append(invoice_id)
        return None if len(calls) == 1 else real_lookup(session, invoice_id)

    with session_scope() as session:
        earlier = requests.file_request(session, NORTHWIND, invoice_number=NORTHWIND_PAID, fapiao_type="ordinary",
                                        today=TODAY)
        monkeypatch.setattr(requests, "_live_request", missing_it_first)
        loser = requests.file_request(session, CONTOSO, invoice_number=CONTOSO_PAID, fapiao_type="special",
                                      today=TODAY)
        other_type = requests.file_request(session, CONTOSO, invoice_number=CONTOSO_PAID, fapiao_type="ordinary",
                                           today=TODAY)
    assert len(calls) >= 2
    assert (loser.created, loser.problem, loser.request.reference) == (False, None, winner.request.reference)
    assert other_type.problem == "other_type_requested"
    assert earlier.created and count_requests() == 2


def test_filing_is_part_of_the_callers_transaction(db_url):
    with pytest.raises(RuntimeError):
        with session_scope() as session:
            requests.file_request(session, CONTOSO, invoice_number=CONTOSO_PAID, fapiao_type="ordinary", today=TODAY)
            raise RuntimeError("the action failed after filing")
    assert count_requests() == 0


def test_unknown_types_and_forms_are_programming_errors(session):
    with pytest.raises(ValueError):
        requests.prepare_request(session, CONTOSO, invoice_number=CONTOSO_PAID, fapiao_type="vat", today=TODAY)
    with pytest.raises(ValueError):
        requests.prepare_request(session, CONTOSO, invoice_number=CONTOSO_PAID, fapiao_type="ordinary",
                                 today=TODAY, form="email")


def test_status_is_scoped_to_the_customer(db_url):
    contoso = file().request
    northwind = file(customer_id=NORTHWIND, invoice_number=NORTHWIND_PAID).request
    with session_scope() as session:
        assert requests.get_request(session, CONTOSO, contoso.reference.lower()) == contoso
        assert requests.get_request(session, CONTOSO, "ＦＰ" + contoso.reference[3:]) == contoso
        assert requests.get_request(session, NORTHWIND, contoso.reference) is None
        assert requests.get_request(session, CONTOSO, "FP-AAAAAA") is None
        assert requests.requests_for_customer(session, CONTOSO) == [contoso]
        assert requests.requests_for_customer(session, CONTOSO, invoice_number="g000100001") == [contoso]
        assert requests.requests_for_customer(session, CONTOSO, invoice_number=NORTHWIND_PAID) == []
        assert requests.requests_for_customer(session, NORTHWIND) == [northwind]
        assert requests.requests_for_customer(session, FABRIKAM) == []


def test_open_requests_are_listed_first_and_requested_invoices_are_not_offered_again(db_url):
    with session_scope() as session:
        assert [v.number for v in requests.requestable_invoices(session, CONTOSO)] == [CONTOSO_PAID]
        assert requests.requestable_invoices(session, FABRIKAM) == []  # nothing paid
    rejected = file().request
    reject(rejected.reference)
    with session_scope() as session:
        assert [v.number for v in requests.requestable_invoices(session, CONTOSO)] == [CONTOSO_PAID]
    current = file(fapiao_type="special").request
    with session_scope() as session:
        assert requests.requestable_invoices(session, CONTOSO) == []
        listed = requests.requests_for_customer(session, CONTOSO)
        assert [(r.reference, r.state) for r in listed] == [(current.reference, "requested"),
                                                           (rejected.reference, "rejected")]
