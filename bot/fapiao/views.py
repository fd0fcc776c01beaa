"""Read-only views of fapiao rows, detached from the session that loaded them.

Codes, never sentences: `fapiao_type` is one of models.TYPES, `state` one of models.State,
`problem` one of requests.REFUSALS, `reject_reason` one of models.REJECT_REASONS. Only
`note` and `staff_note` are words, and they are the partner's own, to be shown verbatim.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bot.billing.views import InvoiceView
from bot.fapiao.models import (
    CustomerTaxProfile,
    FapiaoEvent,
    FapiaoNotice,
    FapiaoPolicy,
    FapiaoRequest,
    State,
)


@dataclass(frozen=True)
class TaxProfileView:
    """What the customer's fapiao will say about the buyer (prefilled, then confirmed)."""

    customer_id: str
    trading_name: str  # customers.name, e.g. Contoso Ltd
    registered_name: str  # the title, e.g. 康托索（上海）科技有限公司
    taxpayer_type: str  # general | small_scale
    tax_id: str
    bank_name: str | None
    bank_account: str | None
    address: str | None
    phone: str | None
    email: str | None

    @property
    def has_special_details(self) -> bool:
        """Bank, account, address and phone: printed on a special fapiao, so needed for one."""
        return all((self.bank_name, self.bank_account, self.address, self.phone))

    @classmethod
    def of(cls, row: CustomerTaxProfile, trading_name: str) -> TaxProfileView:
        return cls(
            customer_id=row.customer_id, trading_name=trading_name, registered_name=row.registered_name,
            taxpayer_type=row.taxpayer_type, tax_id=row.tax_id, bank_name=row.bank_name,
            bank_account=row.bank_account, address=row.address, phone=row.phone, email=row.email,
        )


@dataclass(frozen=True)
class FapiaoPolicyView:
    partner_id: str
    partner_name: str
    issue_business_days: int
    offers_special: bool
    offers_paper: bool
    note: str | None  # the partner's own words

    @classmethod
    def of(cls, row: FapiaoPolicy, partner_name: str) -> FapiaoPolicyView:
        return cls(
            partner_id=row.partner_id, partner_name=partner_name, issue_business_days=row.issue_business_days,
            offers_special=row.offers_special, offers_paper=row.offers_paper, note=row.note,
        )


@dataclass(frozen=True)
class FapiaoRequestView:
    reference: str
    customer_id: str
    partner_id: str
    invoice_number: str
    fapiao_type: str
    form: str
    amount: Decimal
    currency: str
    title: str
    tax_id: str
    bank_name: str | None
    bank_account: str | None
    address: str | None
    phone: str | None
    email: str
    state: str
    requested_on: date
    due_by: date  # when the partner promised it (its policy's business days at the time)
    fapiao_number: str | None
    issued_on: date | None
    reject_reason: str | None
    staff_note: str | None
    created_at: datetime
    decided_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.state == State.REQUESTED

    @classmethod
    def of(cls, row: FapiaoRequest) -> FapiaoRequestView:
        return cls(
            reference=row.reference, customer_id=row.customer_id, partner_id=row.partner_id,
            invoice_number=row.invoice_number, fapiao_type=row.fapiao_type, form=row.form, amount=row.amount,
            currency=row.currency, title=row.title, tax_id=row.tax_id, bank_name=row.bank_name,
            bank_account=row.bank_account, address=row.address, phone=row.phone, email=row.email,
            state=row.state, requested_on=row.requested_on, due_by=row.due_by, fapiao_number=row.fapiao_number,
            issued_on=row.issued_on, reject_reason=row.reject_reason, staff_note=row.staff_note,
            created_at=row.created_at, decided_at=row.decided_at,
        )


@dataclass(frozen=True)
class FapiaoDraft:
    """The summary the customer confirms before anything is recorded, or why it cannot be filed.

    With `problem` None, `file_request` with the same arguments records exactly this. `existing`
    is the live request already on file for the invoice (the duplicate case, or
    `other_type_requested`); the fields below are then that request's."""

    problem: str | None
    existing: FapiaoRequestView | None
    invoice: InvoiceView | None
    fapiao_type: str
    form: str
    title: str | None = None
    tax_id: str | None = None
    bank_name: str | None = None
    bank_account: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    due_by: date | None = None
    issue_business_days: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and self.existing is None


@dataclass(frozen=True)
class Filing:
    """What `file_request` did: recorded a new request, found the first one (created False), or
    refused (`problem`, with `request` the blocking request when there is one)."""

    request: FapiaoRequestView | None
    created: bool
    problem: str | None


@dataclass(frozen=True)
class FapiaoQueueItem:
    """An open request as partner staff see it in their queue."""

    request: FapiaoRequestView
    customer_name: str
    age_days: int  # calendar days since it was requested
    overdue: bool  # past the date the partner promised


@dataclass(frozen=True)
class FapiaoEventView:
    at: datetime
    kind: str
    actor: str
    detail: dict[str, Any] = field(hash=False, default_factory=dict)

    @classmethod
    def of(cls, row: FapiaoEvent) -> FapiaoEventView:
        return cls(at=row.at, kind=row.kind, actor=row.actor, detail=dict(row.detail or {}))


@dataclass(frozen=True)
class FapiaoNews:
    """A notice for the customer: facts the reply layer words on their next turn."""

    id: int
    reference: str
    state: str  # issued | rejected
    invoice_number: str
    fapiao_type: str
    form: str
    amount: Decimal
    currency: str
    email: str  # where the electronic copy goes
    fapiao_number: str | None
    issued_on: date | None
    reject_reason: str | None
    staff_note: str | None
    created_at: datetime
    shown_at: datetime | None

    @classmethod
    def of(cls, notice: FapiaoNotice, request: FapiaoRequest) -> FapiaoNews:
        return cls(
            id=notice.id, reference=request.reference, state=notice.kind, invoice_number=request.invoice_number,
            fapiao_type=request.fapiao_type, form=request.form, amount=request.amount, currency=request.currency,
            email=request.email, fapiao_number=request.fapiao_number, issued_on=request.issued_on,
            reject_reason=request.reject_reason, staff_note=request.staff_note, created_at=notice.created_at,
            shown_at=notice.shown_at,
        )
