"""Helpers for the fapiao tests: filing as the conversation would, staff actions, a second partner."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from bot.db import session_scope
from bot.db.models import Customer, Invoice, Partner, Payment
from bot.fapiao import requests, staff
from bot.fapiao.models import CustomerTaxProfile, FapiaoEvent, FapiaoPolicy, FapiaoRequest
from bot.fapiao.views import Filing
from tests.conftest import TODAY

CONTOSO, FABRIKAM, NORTHWIND, TAILSPIN = "C-1001", "C-1002", "C-1003", "C-1004"
CONTOSO_PAID, CONTOSO_UNPAID = "G000100001", "G000100002"  # 8,240.00 paid on 2026-10-20; 9,615.50 open
FABRIKAM_UNPAID = "G000200001"
NORTHWIND_PAID = "G000300001"  # 5,300.00, paid twice
CONTOSO_TAX_ID = "91310000MA1FL0B106"
CONTOSO_REGISTERED_NAME = "康托索（上海）科技有限公司"
PARTNER, OTHER_PARTNER = "P-01", "P-02"
OTHER_CUSTOMER, OTHER_INVOICE = "C-2001", "G900000001"
STAFF = "Mei Chen"
# A 数电票 number issued in 2026: year 26, Shanghai 31, channel 1, then a 15-digit sequence.
NUMBER_2026 = "26311000000012345678"


def file(customer_id: str = CONTOSO, invoice_number: str = CONTOSO_PAID, fapiao_type: str = "ordinary",
         **overrides: Any) -> Filing:
    """File a request in its own committed transaction, as the conversation would after 'yes'."""
    with session_scope() as session:
        return requests.file_request(session, customer_id, invoice_number=invoice_number, fapiao_type=fapiao_type,
                                     today=overrides.pop("today", TODAY), **overrides)


def issue(reference: str, partner_id: str = PARTNER, number: str = NUMBER_2026, **overrides: Any):
    with session_scope() as session:
        return staff.issue_request(session, reference, partner_id, number=number,
                                   staff_name=overrides.pop("staff_name", STAFF), today=overrides.pop("today", TODAY),
                                   **overrides)


def reject(reference: str, partner_id: str = PARTNER, reason: str = "buyer_details_mismatch", **overrides: Any):
    with session_scope() as session:
        return staff.reject_request(session, reference, partner_id, reason=reason,
                                    staff_name=overrides.pop("staff_name", STAFF), **overrides)


def count_requests() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(FapiaoRequest))


def events(reference: str) -> list[tuple[str, str]]:
    """(kind, actor) of each event of the request, in order."""
    with session_scope() as session:
        return [tuple(r) for r in session.execute(
            select(FapiaoEvent.kind, FapiaoEvent.actor).join(FapiaoRequest, FapiaoRequest.id == FapiaoEvent.request_id)
            .where(FapiaoRequest.reference == reference).order_by(FapiaoEvent.id))]


def add_other_partner() -> None:
    """P-02 with one customer, its paid invoice, tax facts and a fapiao policy."""
    with session_scope() as session:
        session.add(Partner(id=OTHER_PARTNER, name="Harbour Cloud"))
        session.add(FapiaoPolicy(partner_id=OTHER_PARTNER, issue_business_days=5, offers_special=False,
                                 offers_paper=True))
        session.add(Customer(id=OTHER_CUSTOMER, partner_id=OTHER_PARTNER, name="Wingtip Ltd"))
        session.flush()
        session.add(CustomerTaxProfile(customer_id=OTHER_CUSTOMER, registered_name="翼尖（杭州）网络有限公司",
                                       taxpayer_type="general", tax_id="91330106MA2B3C4D5D", email="ap@wingtip.example"))
        invoice = Invoice(number=OTHER_INVOICE, customer_id=OTHER_CUSTOMER, period="2026-10",
                          issue_date=date(2026, 11, 1), due_date=date(2026, 11, 30), currency="CNY",
                          total=Decimal("1000.00"), status="paid")
        session.add(invoice)
        session.flush()
        session.add(Payment(invoice_id=invoice.id, paid_on=date(2026, 11, 3), amount=Decimal("1000.00"),
                            method="bank_transfer", reference="BT-20261103-0001"))
