"""The fapiao tables, and the codes stored in them.

Why the customer's tax facts get their own table (customer_tax_profiles) rather than columns on
`customers`: they are the facts printed on a fapiao as the tax bureau registered them, kept by
the partner's finance team, and only customers that want fapiao have them. A customer without a
row cannot file a request (`no_tax_profile`: the partner has to record the facts first), the
bank account or address can change without touching the billing account, and the central
`customers` table needs no ALTER.

`registered_name` is the company's name as registered with the tax bureau, which is what the
发票抬头 (title) must say; for the demo companies, which are registered in China, it is their
Chinese name (康托索（上海）科技有限公司). `customers.name` stays the trading name the billing
data uses (Contoso Ltd); a title that says the trading name is refused with its own code, so the
reply can say which name to use.

Timestamps are naive UTC, like the escalation tables. Dates (`requested_on`, `due_by`,
`issued_on`) are business dates (`Settings.today()`), the dates people read on a fapiao.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, String, Text

from bot.db.models import Base, MoneyType

TYPES = ("ordinary", "special")  # 增值税普通发票, 增值税专用发票 (general taxpayers only)
FORMS = ("digital", "paper")  # 数电票 (fully digitalised e-invoice, the default), 纸质发票
TAXPAYER_TYPES = ("general", "small_scale")  # 一般纳税人, 小规模纳税人

# Why partner staff turned a request down; bot/replies words each code for the customer.
REJECT_REASONS = (
    "buyer_details_mismatch",  # title or taxpayer id differ from the tax registration
    "payment_not_received",  # the payment has not reached the partner's account yet
    "under_dispute",  # the charge is disputed or being refunded
    "issued_elsewhere",  # a fapiao for this invoice was already issued another way
    "type_not_allowed",  # the buyer cannot receive this type (e.g. special for small-scale)
    "other",  # staff must add a note, shown verbatim
)


class State:
    """requested -> issued | rejected. Both ends are final; a rejected request frees its invoice
    and type for a new request."""

    REQUESTED = "requested"
    ISSUED = "issued"
    REJECTED = "rejected"

    ALL = (REQUESTED, ISSUED, REJECTED)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class CustomerTaxProfile(Base):
    """A customer's registered tax facts, as printed on its fapiao."""

    __tablename__ = "customer_tax_profiles"

    customer_id = Column(String(16), ForeignKey("customers.id"), primary_key=True)
    registered_name = Column(String(200), nullable=False)  # the 发票抬头
    taxpayer_type = Column(String(16), nullable=False)  # TAXPAYER_TYPES
    tax_id = Column(String(18), nullable=False)  # 纳税人识别号: the unified social credit code
    # Printed on special fapiao, so required for general taxpayers who want them:
    bank_name = Column(String(200), nullable=True)  # 开户行
    bank_account = Column(String(64), nullable=True)  # 账号
    address = Column(String(300), nullable=True)  # 地址
    phone = Column(String(32), nullable=True)  # 电话
    email = Column(String(254), nullable=True)  # where electronic fapiao go unless the request says otherwise
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class FapiaoPolicy(Base):
    """A partner's fapiao settings. A partner without a row does not take requests through the
    assistant (`not_offered`)."""

    __tablename__ = "fapiao_policies"

    partner_id = Column(String(16), ForeignKey("partners.id"), primary_key=True)
    issue_business_days = Column(Integer, nullable=False)  # promised time from request to fapiao
    offers_special = Column(Boolean, nullable=False)
    offers_paper = Column(Boolean, nullable=False)
    note = Column(Text, nullable=True)  # the partner's own words for customers, shown verbatim


class FapiaoRequest(Base):
    """One fapiao asked for one paid invoice, with the buyer's details as the customer confirmed them."""

    __tablename__ = "fapiao_requests"

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)  # customer-facing, e.g. FP-7K3M9Q
    # The invoice while this request holds it (requested or issued); NULL once rejected. Unique, so
    # one invoice has one live request whatever the type, also under concurrent filing.
    active_invoice_id = Column(Integer, ForeignKey("invoices.id"), nullable=True, unique=True)
    customer_id = Column(String(16), ForeignKey("customers.id"), nullable=False, index=True)
    partner_id = Column(String(16), ForeignKey("partners.id"), nullable=False)
    invoice_id = Column(Integer, ForeignKey("invoices.id"), nullable=False, index=True)
    invoice_number = Column(String(16), nullable=False)
    fapiao_type = Column(String(16), nullable=False)  # TYPES
    form = Column(String(16), nullable=False)  # FORMS
    amount = Column(MoneyType, nullable=False)  # the invoice total (价税合计)
    currency = Column(String(3), nullable=False)

    title = Column(String(200), nullable=False)
    tax_id = Column(String(18), nullable=False)
    bank_name = Column(String(200), nullable=True)  # special only
    bank_account = Column(String(64), nullable=True)
    address = Column(String(300), nullable=True)
    phone = Column(String(32), nullable=True)
    email = Column(String(254), nullable=False)

    state = Column(String(16), nullable=False)  # State
    requested_on = Column(Date, nullable=False)
    due_by = Column(Date, nullable=False)  # requested_on + the policy's business days, as promised then
    fapiao_number = Column(String(20), nullable=True)
    issued_on = Column(Date, nullable=True)
    reject_reason = Column(String(32), nullable=True)  # REJECT_REASONS
    staff_note = Column(Text, nullable=True)  # partner staff's own words, shown verbatim
    conversation_id = Column(String(128), nullable=True)  # the Rasa sender id it came from

    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    decided_at = Column(DateTime, nullable=True)

    __table_args__ = (Index("ix_fapiao_requests_partner_state", "partner_id", "state"),)


class FapiaoEvent(Base):
    """The history of one request: who did what, and when. `detail` holds facts, not sentences."""

    __tablename__ = "fapiao_events"

    id = Column(Integer, primary_key=True)
    request_id = Column(Integer, ForeignKey("fapiao_requests.id"), nullable=False, index=True)
    at = Column(DateTime, nullable=False, default=utcnow)
    kind = Column(String(32), nullable=False)  # requested | issued | rejected | customer_notified
    actor = Column(String(120), nullable=False)  # customer:C-1001 | partner:P-01:<staff name>
    detail = Column(JSON, nullable=True)


class FapiaoNotice(Base):
    """News for the customer about a request (issued or rejected): pushed into their open chat, or
    shown on their next turn."""

    __tablename__ = "fapiao_notices"

    id = Column(Integer, primary_key=True)
    request_id = Column(Integer, ForeignKey("fapiao_requests.id"), nullable=False, index=True)
    customer_id = Column(String(16), ForeignKey("customers.id"), nullable=False, index=True)
    conversation_id = Column(String(128), nullable=True)
    kind = Column(String(16), nullable=False)  # the state it reports: issued | rejected
    created_at = Column(DateTime, nullable=False, default=utcnow)
    shown_at = Column(DateTime, nullable=True)
    # Pushed by the worker into an open chat that can receive it (the widget, Slack, Teams); tried a
    # few times with backoff, else shown on the customer's next turn.
    push_attempts = Column(Integer, nullable=False, default=0, server_default="0")
    next_push_at = Column(DateTime, nullable=True)
