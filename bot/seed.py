"""Demo data (exactly as the product issues describe it) and a synthetic data set for benchmarks.

Seeding is explicit (`python -m bot seed`), never a side effect of importing or starting
anything, and idempotent: a row that already exists (by its natural key) is left alone.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import (
    CollectionsPolicy,
    Customer,
    Invoice,
    InvoiceLine,
    LineDisplayName,
    Partner,
    PartnerInvoice,
    Payment,
    Subscription,
)
from bot.fapiao.models import CustomerTaxProfile, FapiaoPolicy
from bot.partner.directory import add_member

D = Decimal


@dataclass
class DemoInvoice:
    number: str
    period: str
    issue_date: date
    due_date: date
    total: Decimal
    lines: list[tuple[str, Decimal]]
    payments: list[tuple[date, Decimal, str, str]] = field(default_factory=list)  # on, amount, method, ref

    @property
    def status(self) -> str:
        return "paid" if sum((p[1] for p in self.payments), D(0)) >= self.total else "unpaid"


@dataclass
class DemoCustomer:
    id: str
    name: str
    subscription_status: str
    invoices: list[DemoInvoice]
    suspended_on: date | None = None
    suspension_reason: str | None = None
    tenant_id: str = ""  # the customer's tenant in Partner Center
    subscription_upstream_id: str = ""  # its Azure plan's subscription id there


DEMO_PARTNER = ("P-01", "Lakeshore Cloud Partners")
DEMO_CURRENCY = "CNY"

DEMO_CUSTOMERS = [
    DemoCustomer("C-1001", "Contoso Ltd", "active", [
        DemoInvoice("G000100001", "2026-09", date(2026, 10, 1), date(2026, 10, 31), D("8240.00"),
                    [("Virtual machines", D("6744.50")), ("Storage", D("1495.50"))],
                    [(date(2026, 10, 20), D("8240.00"), "bank_transfer", "BT-20261020-0417")]),
        DemoInvoice("G000100002", "2026-10", date(2026, 11, 1), date(2026, 11, 30), D("9615.50"),
                    [("Virtual machines", D("6120.00")), ("Storage", D("1495.50")), ("Bandwidth", D("2000.00"))]),
    ],
        tenant_id="c1001000-0000-4000-8000-00000000c001",
        subscription_upstream_id="5b1c0001-0000-4000-8000-0000000000a1"),
    DemoCustomer("C-1002", "Fabrikam Inc", "suspended", [
        DemoInvoice("G000200001", "2026-08", date(2026, 9, 1), date(2026, 9, 30), D("12400.00"),
                    [("Virtual machines", D("9400.00")), ("Storage", D("3000.00"))]),
        DemoInvoice("G000200002", "2026-09", date(2026, 10, 1), date(2026, 10, 31), D("11980.00"),
                    [("Virtual machines", D("8980.00")), ("Storage", D("3000.00"))]),
    ], suspended_on=date(2026, 11, 15), suspension_reason="non-payment",
        tenant_id="c1002000-0000-4000-8000-00000000c002",
        subscription_upstream_id="5b1c0002-0000-4000-8000-0000000000a2"),
    DemoCustomer("C-1003", "Northwind Traders", "active", [
        DemoInvoice("G000300001", "2026-10", date(2026, 11, 1), date(2026, 11, 30), D("5300.00"),
                    [("Virtual machines", D("4100.00")), ("Storage", D("1200.00"))],
                    [(date(2026, 11, 5), D("5300.00"), "bank_transfer", "BT-20261105-2211"),
                     (date(2026, 11, 6), D("5300.00"), "bank_transfer", "BT-20261106-2214")]),
    ],
        tenant_id="c1003000-0000-4000-8000-00000000c003",
        subscription_upstream_id="5b1c0003-0000-4000-8000-0000000000a3"),
    DemoCustomer("C-1004", "Tailspin Toys", "active", [
        DemoInvoice("G000400001", "2026-10", date(2026, 11, 1), date(2026, 11, 30), D("7800.00"),
                    [("Virtual machines", D("3300.00")), ("Reserved instance purchase", D("4500.00"))]),
    ],
        tenant_id="c1004000-0000-4000-8000-00000000c004",
        subscription_upstream_id="5b1c0004-0000-4000-8000-0000000000a4"),
]

DEMO_PARTNER_INVOICES = [
    # number, period, issued, due, total, status, paid on
    ("PV-2026-10", "2026-10", date(2026, 11, 1), date(2026, 11, 25), D("48200.00"), "unpaid", None),
    ("PV-2026-09", "2026-09", date(2026, 10, 1), date(2026, 10, 25), D("45730.00"), "paid", date(2026, 10, 22)),
]


@dataclass(frozen=True)
class DemoTaxProfile:
    """A demo company's registered tax facts. The registered name is the Chinese one the tax
    bureau knows, which a fapiao title must say; the billing data keeps the English trading name."""

    customer_id: str
    registered_name: str
    taxpayer_type: str  # general | small_scale
    tax_id: str  # unified social credit code, valid check digit (python-stdnum cn.uscc)
    email: str
    bank_name: str | None = None  # general taxpayers: printed on special fapiao
    bank_account: str | None = None
    address: str | None = None
    phone: str | None = None


DEMO_TAX_PROFILES = [
    DemoTaxProfile("C-1001", "康托索（上海）科技有限公司", "general", "91310000MA1FL0B106", "finance@contoso.example",
                   "招商银行上海分行营业部", "121909876510801", "上海市浦东新区世纪大道100号", "021-58881234"),
    DemoTaxProfile("C-1002", "法布里卡姆（北京）商贸有限公司", "small_scale", "91110108MA01R7KQ3Y",
                   "ap@fabrikam.example"),
    DemoTaxProfile("C-1003", "罗斯文贸易（深圳）有限公司", "general", "91440300MA5G2N8T4W", "finance@northwind.example",
                   "中国银行深圳福田支行", "745812349876", "深圳市福田区深南大道6008号", "0755-83451234"),
    DemoTaxProfile("C-1004", "尾旋玩具（广州）有限公司", "small_scale", "91440106MA9UP3WX7M", "billing@tailspin.example"),
]

# The partner desk's staff directory: (platform, workspace or tenant, user id, name, role).
DEMO_SLACK_WORKSPACE = "T0LAKESHORE"
DEMO_TEAMS_TENANT = "7d3c0c2e-1a1b-4c4c-9f00-1a5e5b0ca001"
DEMO_STAFF = [
    ("slack", DEMO_SLACK_WORKSPACE, "U0MEICHEN", "Mei Chen", "billing_admin"),
    ("slack", DEMO_SLACK_WORKSPACE, "U0LIWEI", "Li Wei", "read_only"),
    ("teams", DEMO_TEAMS_TENANT, "a1a1a1a1-0000-4000-8000-000000000001", "Mei Chen", "billing_admin"),
    ("teams", DEMO_TEAMS_TENANT, "a1a1a1a1-0000-4000-8000-000000000002", "Li Wei", "read_only"),
]

# The invoice lines of the demo data, as Chinese customers read them.
DEMO_LINE_NAMES = {"Virtual machines": "虚拟机", "Storage": "存储", "Bandwidth": "带宽",
                   "Reserved instance purchase": "预留实例购买"}

# The demo partner issues fapiao within 3 business days, special ones too, as 数电票 only (no paper).
# Support agents who sign in to the console (bot/console/), and a second partner whose agent must
# never see the first one's conversations. Demo passwords, printed by the run command; a real
# partner's agents are added with `python -m bot agent add`.
DEMO_OTHER_PARTNER = ("P-03", "Bayside Cloud Services")
DEMO_AGENTS = [
    ("P-01", "Ana Agent", "ana", "ana-demo"),
    ("P-01", "Bo Agent", "bo", "bo-demo"),
    ("P-03", "Hana Agent", "hana", "hana-demo"),
]
DEMO_SUPPORT_POLICIES = {  # P-01 answers round the clock in the demo; P-03 keeps office hours
    "P-01": {"staffed_hours": "always", "first_response_seconds": 120, "next_response_seconds": 300},
    "P-03": {"staffed_hours": "Mon-Fri 09:00-18:00", "first_response_seconds": 300, "next_response_seconds": 600},
}
DEMO_FAPIAO_POLICY = {"issue_business_days": 3, "offers_special": True, "offers_paper": False, "note": None}


def _add_invoice(session: Session, customer_id: str, currency: str, inv: DemoInvoice) -> None:
    invoice = Invoice(number=inv.number, customer_id=customer_id, period=inv.period, issue_date=inv.issue_date,
                      due_date=inv.due_date, currency=currency, total=inv.total, status=inv.status)
    session.add(invoice)
    session.flush()
    for position, (description, amount) in enumerate(inv.lines, start=1):
        session.add(InvoiceLine(invoice_id=invoice.id, position=position, description=description, amount=amount))
    for paid_on, amount, method, reference in inv.payments:
        session.add(Payment(invoice_id=invoice.id, paid_on=paid_on, amount=amount, method=method, reference=reference))


def seed_demo(session: Session) -> int:
    """Insert the demo rows that are missing; return how many top-level rows were added."""
    added = 0
    partner_id, partner_name = DEMO_PARTNER
    if session.get(Partner, partner_id) is None:
        session.add(Partner(id=partner_id, name=partner_name))
        added += 1
    if session.get(CollectionsPolicy, partner_id) is None:
        session.add(CollectionsPolicy(partner_id=partner_id, reminder_days_before_due=7, reminder_days_after_due=3,
                                      suspend_after_days_overdue=30, late_fee=None, reactivation_business_days=1))
        added += 1
    session.flush()

    for cust in DEMO_CUSTOMERS:
        if session.get(Customer, cust.id) is None:
            session.add(Customer(id=cust.id, partner_id=partner_id, name=cust.name, tenant_id=cust.tenant_id or None))
            session.add(Subscription(customer_id=cust.id, name="Azure plan", status=cust.subscription_status,
                                     suspended_on=cust.suspended_on, suspension_reason=cust.suspension_reason,
                                     upstream_id=cust.subscription_upstream_id or None))
            added += 1
            session.flush()
        else:  # a database seeded before the partner desk: give it the Partner Center ids
            customer = session.get(Customer, cust.id)
            customer.tenant_id = customer.tenant_id or cust.tenant_id or None
            for subscription in session.scalars(select(Subscription).where(Subscription.customer_id == cust.id,
                                                                           Subscription.upstream_id.is_(None))):
                subscription.upstream_id = cust.subscription_upstream_id or None
        existing = set(session.scalars(select(Invoice.number).where(Invoice.customer_id == cust.id)))
        for inv in cust.invoices:
            if inv.number not in existing:
                _add_invoice(session, cust.id, DEMO_CURRENCY, inv)
                added += 1

    for description, name in DEMO_LINE_NAMES.items():
        if session.get(LineDisplayName, (description, "zh")) is None:
            session.add(LineDisplayName(description=description, language="zh", name=name))
            added += 1

    if session.get(FapiaoPolicy, partner_id) is None:
        session.add(FapiaoPolicy(partner_id=partner_id, **DEMO_FAPIAO_POLICY))
        added += 1
    for profile in DEMO_TAX_PROFILES:
        if session.get(CustomerTaxProfile, profile.customer_id) is None:
            session.add(CustomerTaxProfile(**asdict(profile)))
            added += 1

    for platform, workspace, user_id, name, role in DEMO_STAFF:
        added += add_member(session, platform, workspace, user_id, partner_id, name, role)

    added += _seed_support(session)

    existing_pv = set(session.scalars(select(PartnerInvoice.number).where(PartnerInvoice.partner_id == partner_id)))
    for number, period, issued, due, total, status, paid_on in DEMO_PARTNER_INVOICES:
        if number not in existing_pv:
            session.add(PartnerInvoice(number=number, partner_id=partner_id, period=period, issue_date=issued,
                                       due_date=due, currency=DEMO_CURRENCY, total=total, status=status,
                                       paid_on=paid_on))
            added += 1
    return added


def _seed_support(session: Session) -> int:
    from bot.handoff.agents import hash_password
    from bot.handoff.models import SupportAgent, SupportPolicy

    added = 0
    other_id, other_name = DEMO_OTHER_PARTNER
    if session.get(Partner, other_id) is None:
        session.add(Partner(id=other_id, name=other_name))
        session.flush()
        added += 1
    for partner_id, values in DEMO_SUPPORT_POLICIES.items():
        if session.get(SupportPolicy, partner_id) is None:
            session.add(SupportPolicy(partner_id=partner_id, **values))
            added += 1
    known = set(session.scalars(select(SupportAgent.login)))
    for partner_id, name, login, password in DEMO_AGENTS:
        if login not in known:
            session.add(SupportAgent(partner_id=partner_id, name=name, login=login,
                                     password_hash=hash_password(password), active=True))
            added += 1
    return added

