"""The billing schema. Money is NUMERIC(14, 2) read as Decimal; never float."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

Base = declarative_base()

CENT = Decimal("0.01")


class MoneyType(TypeDecorator):
    """NUMERIC(14, 2) where the database has exact decimals (PostgreSQL); integer cents on
    SQLite, whose NUMERIC is floating point. Python always sees a Decimal with two places."""

    impl = Numeric(14, 2, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Integer())
        return dialect.type_descriptor(Numeric(14, 2, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be a Decimal, got {type(value).__name__}")
        value = value.quantize(CENT)
        return int(value * 100) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(CENT)
        return Decimal(value).quantize(CENT)


Money = MoneyType


class Partner(Base):
    __tablename__ = "partners"
    id = Column(String(16), primary_key=True)  # e.g. P-01
    name = Column(String(200), nullable=False)

    policy = relationship("CollectionsPolicy", uselist=False, back_populates="partner")
    customers = relationship("Customer", back_populates="partner")


class CollectionsPolicy(Base):
    __tablename__ = "collections_policies"
    partner_id = Column(String(16), ForeignKey("partners.id"), primary_key=True)
    reminder_days_before_due = Column(Integer, nullable=False)
    reminder_days_after_due = Column(Integer, nullable=False)
    suspend_after_days_overdue = Column(Integer, nullable=False)
    late_fee = Column(Money, nullable=True)  # NULL: no late fee
    reactivation_business_days = Column(Integer, nullable=False)

    partner = relationship("Partner", back_populates="policy")


class Customer(Base):
    __tablename__ = "customers"
    id = Column(String(16), primary_key=True)  # e.g. C-1001
    partner_id = Column(String(16), ForeignKey("partners.id"), nullable=False, index=True)
    name = Column(String(200), nullable=False)
    tenant_id = Column(String(36), nullable=True)  # the customer's tenant in Partner Center

    partner = relationship("Partner", back_populates="customers")


class Subscription(Base):
    __tablename__ = "subscriptions"
    id = Column(Integer, primary_key=True)
    customer_id = Column(String(16), ForeignKey("customers.id"), nullable=False, index=True)
    name = Column(String(200), nullable=False)
    status = Column(String(16), nullable=False)  # active | suspended
    suspended_on = Column(Date, nullable=True)
    suspension_reason = Column(String(200), nullable=True)
    upstream_id = Column(String(64), nullable=True)  # the subscription's id in Partner Center

    __table_args__ = (UniqueConstraint("customer_id", "name"),)


class Invoice(Base):
    __tablename__ = "invoices"
    id = Column(Integer, primary_key=True)
    number = Column(String(16), nullable=False, unique=True)  # G + nine digits
    customer_id = Column(String(16), ForeignKey("customers.id"), nullable=False)
    period = Column(String(7), nullable=False)  # billing period, YYYY-MM
    issue_date = Column(Date, nullable=False)
    due_date = Column(Date, nullable=False)
    currency = Column(String(3), nullable=False)
    total = Column(Money, nullable=False)
    status = Column(String(16), nullable=False)  # unpaid | paid

    lines = relationship("InvoiceLine", order_by="InvoiceLine.position", back_populates="invoice")
    payments = relationship("Payment", order_by="Payment.paid_on", back_populates="invoice")

    __table_args__ = (Index("ix_invoices_customer_period", "customer_id", "period"),)


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"
    id = Column(Integer, primary_key=True)
    invoice_id = Column(Integer, ForeignKey("invoices.id"), nullable=False, index=True)
    position = Column(Integer, nullable=False)
    description = Column(String(200), nullable=False)
    amount = Column(Money, nullable=False)

    invoice = relationship("Invoice", back_populates="lines")


class LineDisplayName(Base):
    """What a kind of invoice line is called in another language (Bandwidth: 带宽), by the line's
    description as the billing system writes it. Lines without one are shown as written."""

    __tablename__ = "line_display_names"
    description = Column(String(200), primary_key=True)
    language = Column(String(8), primary_key=True)
    name = Column(String(200), nullable=False)


class Payment(Base):
    __tablename__ = "payments"
    id = Column(Integer, primary_key=True)
    invoice_id = Column(Integer, ForeignKey("invoices.id"), nullable=False, index=True)
    paid_on = Column(Date, nullable=False)
    amount = Column(Money, nullable=False)
    method = Column(String(32), nullable=False)  # bank_transfer | card | alipay | wechat_pay
    reference = Column(String(64), nullable=False)

    invoice = relationship("Invoice", back_populates="payments")


class PartnerInvoice(Base):
    """What a partner owes 21Vianet."""

    __tablename__ = "partner_invoices"
    id = Column(Integer, primary_key=True)
    number = Column(String(16), nullable=False, unique=True)  # e.g. PV-2026-10
    partner_id = Column(String(16), ForeignKey("partners.id"), nullable=False, index=True)
    period = Column(String(7), nullable=False)
    issue_date = Column(Date, nullable=False)
    due_date = Column(Date, nullable=False)
    currency = Column(String(3), nullable=False)
    total = Column(Money, nullable=False)
    status = Column(String(16), nullable=False)  # unpaid | paid
    paid_on = Column(Date, nullable=True)
    notes = Column(Text, nullable=True)
