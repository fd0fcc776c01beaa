"""A large synthetic data set for benchmarks: `python -m bot seed --synthetic [--customers N
--invoices-per-customer M]` (defaults 5000 x 200: a million invoices, ~3 million lines).

What it adds, next to the demo data and never colliding with it:
  - partners P-S01, P-S02, ... (one per 500 customers), each with a collections policy and three
    partner invoices (PV-S01-2026-10, ...);
  - customers C-S000001, ... each with one "Azure plan" subscription (about 3% suspended for
    non-payment, with their latest invoices unpaid and overdue);
  - M monthly invoices per customer, periods going back from 2026-10, numbered G5xxxxxxxx
    (demo numbers are G0001xxxxx-G0004xxxxx), 2-4 lines each, CNY;
  - payments for most invoices: the newest period is often still open, a few older ones are
    unpaid (overdue) or partly paid, about 1% were paid twice.

Fast: SQLAlchemy Core executemany in batches of about 10,000 invoices, committed every ~100,000
invoices. Deterministic: every batch draws from its own random.Random seeded from
random.Random(42), so a run interrupted half-way resumes where it stopped and still produces
exactly the same data. Idempotent: once complete (the partner P-S01 and its partner invoices
exist) a second run does nothing. Portable: plain Core inserts and selects, PostgreSQL too.
"""
from __future__ import annotations

import calendar
import random
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from bot.db.engine import get_engine
from bot.db.models import (
    CollectionsPolicy,
    Customer,
    Invoice,
    InvoiceLine,
    Partner,
    PartnerInvoice,
    Payment,
    Subscription,
)

CURRENCY = "CNY"
CUSTOMERS_PER_PARTNER = 500
LATEST_PERIOD = (2026, 10)  # the newest billing period, like the demo data
SUSPENDED_BY = date(2026, 11, 20)  # suspensions happened before the demo's business day (2026-11-25)
NUMBER_BASE = 500_000_000  # invoice numbers G500000001...G599999999
MAX_INVOICES = 99_999_999
BATCH_INVOICES = 10_000  # invoices per executemany batch
COMMIT_INVOICES = 100_000  # invoices per transaction
SEED = 42

PARTNER_INVOICES_PER_PARTNER = 3

# (description, typical monthly amount in yuan) a customer's services are drawn from.
SERVICES = [
    ("Virtual machines", 6000), ("Storage", 1500), ("Bandwidth", 1800), ("SQL Database", 3200),
    ("App Service", 1200), ("Azure Kubernetes Service", 5200), ("Backup", 600), ("Cosmos DB", 2600),
    ("Monitor and Log Analytics", 900), ("Content Delivery Network", 1100), ("Support plan", 700),
]
ONE_OFF = ("Reserved instance purchase", 4500)
METHODS = [("bank_transfer", "BT"), ("bank_transfer", "BT"), ("bank_transfer", "BT"), ("alipay", "AP"),
           ("wechat_pay", "WX"), ("card", "CD")]
NAME_FIRST = ["Amber", "Blue", "Cedar", "Delta", "Eastern", "Falcon", "Golden", "Harbor", "Iris", "Jade",
              "Kestrel", "Lotus", "Maple", "North", "Orchid", "Pine", "Quartz", "River", "Silver", "Tiger",
              "Union", "Violet", "West Lake", "Yellow River", "Zenith"]
NAME_SECOND = ["Logistics", "Trading", "Software", "Foods", "Media", "Health", "Robotics", "Textiles",
               "Energy", "Education", "Retail", "Analytics", "Motors", "Pharma", "Games", "Travel"]
NAME_SUFFIX = ["Ltd", "Co., Ltd", "Group", "Inc", "Technology Co."]
PARTNER_WORDS = ["Cloud", "Digital", "Systems", "Networks", "IT Services", "Solutions"]


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


@dataclass(frozen=True)
class Period:
    period: str  # YYYY-MM
    issue_date: date  # the 1st of the month after the period
    due_date: date  # the last day of the issue month (as in the demo data)


def _periods(count: int) -> list[Period]:
    """Oldest first, ending with LATEST_PERIOD."""
    out = []
    for back in range(count - 1, -1, -1):
        year, month = _shift_month(*LATEST_PERIOD, -back)
        iy, im = _shift_month(year, month, 1)
        out.append(Period(f"{year:04d}-{month:02d}", date(iy, im, 1), date(iy, im, calendar.monthrange(iy, im)[1])))
    return out


def _partner_id(index: int, width: int) -> str:  # index from 1
    return f"P-S{index:0{width}d}"


def _customer_id(index: int) -> str:  # index from 1
    return f"C-S{index:06d}"


def _invoice_number(customer_index: int, invoices_per_customer: int, k: int) -> str:
    """k-th invoice (0 = oldest) of the customer_index-th customer (from 1): contiguous per customer."""
    return f"G{NUMBER_BASE + (customer_index - 1) * invoices_per_customer + k + 1:09d}"


class _Batch:
    """The rows of one batch of customers, generated from the batch's own random stream."""

    def __init__(self, rng: random.Random, first: int, last: int, invoices_per_customer: int,
                 periods: list[Period], partner_width: int, policies: dict[str, dict]):
        self.customers: list[dict] = []
        self.subscriptions: list[dict] = []
        self.invoices: list[dict] = []
        self.lines: dict[str, list[dict]] = {}  # invoice number -> its lines (invoice_id filled in later)
        self.payments: dict[str, list[dict]] = {}
        self._rng = rng
        self._periods = periods
        self._payment_seq = 0
        for index in range(first, last + 1):
            self._customer(index, invoices_per_customer, partner_width, policies)

    def _customer(self, index: int, m: int, partner_width: int, policies: dict[str, dict]) -> None:
        rng = self._rng
        customer_id = _customer_id(index)
        partner_id = _partner_id((index - 1) // CUSTOMERS_PER_PARTNER + 1, partner_width)
        name = f"{rng.choice(NAME_FIRST)} {rng.choice(NAME_SECOND)} {rng.choice(NAME_SUFFIX)} (S{index:06d})"
        self.customers.append({"id": customer_id, "partner_id": partner_id, "name": name})

        suspended = rng.random() < 0.03
        # The customer's usual services and what each costs it a month, in cents.
        scale = rng.uniform(0.3, 3.0)
        services = [(d, int(base * 100 * scale * rng.uniform(0.5, 1.5)))
                    for d, base in rng.sample(SERVICES, rng.randint(2, 3))]
        # Suspended customers stopped paying their last few invoices (all overdue but the newest),
        # long enough ago for their partner's policy to have suspended them by SUSPENDED_BY.
        unpaid_from = m
        if suspended:
            suspend_after = timedelta(days=policies[partner_id]["suspend_after_days_overdue"])
            unpaid_from = max(0, m - rng.randint(2, 3))
            while unpaid_from > 0 and self._periods[unpaid_from].due_date + suspend_after > SUSPENDED_BY:
                unpaid_from -= 1

        for k, period in enumerate(self._periods):
            number = _invoice_number(index, m, k)
            lines = [(d, max(100, int(cents * rng.uniform(0.85, 1.2)))) for d, cents in services]
            if len(lines) < 4 and rng.random() < 0.04:
                lines.append((ONE_OFF[0], int(ONE_OFF[1] * 100 * scale)))
            total = sum(c for _, c in lines)
            self.lines[number] = [{"position": pos, "description": d, "amount": _money(c)}
                                  for pos, (d, c) in enumerate(lines, start=1)]

            newest = k == m - 1
            r = rng.random()
            if k >= unpaid_from:
                paid = []
            elif newest:  # issued 2026-11-01, due 2026-11-30: many not paid yet
                paid = [] if r < 0.35 else [total]
            elif k == m - 2:  # due 2026-10-31: a few a little overdue
                paid = [] if r < 0.04 else [total]
            elif r < 0.004:
                paid = []  # long overdue
            elif r < 0.01:
                paid = [total // 2]  # partly paid
            elif r < 0.02:
                paid = [total, total]  # paid twice
            else:
                paid = [total]
            self.payments[number] = [self._payment(period, cents, second=i > 0) for i, cents in enumerate(paid)]
            self.invoices.append({
                "number": number, "customer_id": customer_id, "period": period.period,
                "issue_date": period.issue_date, "due_date": period.due_date, "currency": CURRENCY,
                "total": _money(total), "status": "paid" if sum(paid) >= total else "unpaid",
            })

        if suspended:
            suspended_on = self._periods[unpaid_from].due_date + suspend_after
            status = {"status": "suspended", "suspended_on": suspended_on,
                      "suspension_reason": "non-payment"}
        else:
            status = {"status": "active", "suspended_on": None, "suspension_reason": None}
        self.subscriptions.append({"customer_id": customer_id, "name": "Azure plan", **status})

    def _payment(self, period: Period, cents: int, second: bool) -> dict:
        rng = self._rng
        days = (period.due_date - period.issue_date).days
        paid_on = period.issue_date + timedelta(days=rng.randint(2, days + 3))
        if second:  # the duplicate arrives a day or two after the first one
            paid_on += timedelta(days=rng.randint(1, 2))
        method, prefix = rng.choice(METHODS)
        self._payment_seq += 1
        reference = f"{prefix}-{paid_on:%Y%m%d}-{rng.randint(0, 9999):04d}{self._payment_seq % 100:02d}"
        return {"paid_on": paid_on, "amount": _money(cents), "method": method, "reference": reference}


def _insert_batch(conn: Connection, batch: _Batch) -> tuple[int, int]:
    conn.execute(insert(Customer.__table__), batch.customers)
    conn.execute(insert(Subscription.__table__), batch.subscriptions)
    conn.execute(insert(Invoice.__table__), batch.invoices)
    # Ids of the invoices just inserted: their numbers are one contiguous range (unique index).
    lo, hi = batch.invoices[0]["number"], batch.invoices[-1]["number"]
    ids = dict(conn.execute(select(Invoice.number, Invoice.id).where(Invoice.number.between(lo, hi))).all())
    lines = [{**line, "invoice_id": ids[number]} for number, rows in batch.lines.items() for line in rows]
    payments = [{**p, "invoice_id": ids[number]} for number, rows in batch.payments.items() for p in rows]
    conn.execute(insert(InvoiceLine.__table__), lines)
    if payments:
        conn.execute(insert(Payment.__table__), payments)
    return len(lines), len(payments)


def _partner_rows(master: random.Random, partners: int, width: int) -> tuple[list[dict], list[dict]]:
    partner_rows, policy_rows = [], []
    for p in range(1, partners + 1):
        pid = _partner_id(p, width)
        partner_rows.append({"id": pid, "name": f"{master.choice(NAME_FIRST)} {master.choice(PARTNER_WORDS)} "
                                               f"Partners (synthetic {p:0{width}d})"})
        policy_rows.append({
            "partner_id": pid,
            "reminder_days_before_due": master.choice([3, 5, 7, 10]),
            "reminder_days_after_due": master.choice([1, 3, 5, 7]),
            "suspend_after_days_overdue": master.choice([15, 30, 30, 45, 60]),
            "late_fee": master.choice([None, None, Decimal("50.00"), Decimal("100.00"), Decimal("200.00")]),
            "reactivation_business_days": master.choice([1, 1, 2, 3]),
        })
    return partner_rows, policy_rows


def _partner_invoice_rows(master: random.Random, partner_ids: list[str]) -> list[dict]:
    periods = _periods(PARTNER_INVOICES_PER_PARTNER)
    rows = []
    for pid in partner_ids:
        for i, period in enumerate(periods):
            newest = i == len(periods) - 1
            due = period.issue_date + timedelta(days=24)
            rows.append({
                "number": f"PV-{pid[2:]}-{period.period}", "partner_id": pid, "period": period.period,
                "issue_date": period.issue_date, "due_date": due, "currency": CURRENCY,
                "total": _money(master.randint(2_000_000, 9_000_000) * 100),
                "status": "unpaid" if newest else "paid",
                "paid_on": None if newest else due - timedelta(days=master.randint(0, 5)), "notes": None,
            })
    return rows


def seed_synthetic(customers: int = 5000, invoices_per_customer: int = 200, url: str | None = None,
                   seed: int = SEED, verbose: bool = True) -> dict[str, int]:
    """Add the synthetic data set (see the module docstring). Returns row counts added."""
    if customers < 1 or invoices_per_customer < 1:
        raise ValueError("customers and invoices_per_customer must be at least 1")
    if customers * invoices_per_customer > MAX_INVOICES:
        raise ValueError(f"at most {MAX_INVOICES:,} synthetic invoices (G5 + eight digits)")
    say = print if verbose else (lambda *a, **k: None)
    engine = get_engine(url)
    partners = -(-customers // CUSTOMERS_PER_PARTNER)
    width = max(2, len(str(partners)))
    first_partner = _partner_id(1, width)
    added = {"partners": 0, "customers": 0, "invoices": 0, "invoice_lines": 0, "payments": 0}

    master = random.Random(seed)
    partner_rows, policy_rows = _partner_rows(master, partners, width)
    policies = {row["partner_id"]: row for row in policy_rows}
    partner_invoices = _partner_invoice_rows(master, [row["id"] for row in partner_rows])
    periods = _periods(invoices_per_customer)
    per_batch = max(1, BATCH_INVOICES // invoices_per_customer)
    batch_starts = list(range(1, customers + 1, per_batch))
    batch_seeds = [master.getrandbits(64) for _ in batch_starts]

    with engine.begin() as conn:
        partner_exists = conn.execute(select(Partner.id).where(Partner.id == first_partner)).first() is not None
        complete = partner_exists and conn.execute(
            select(PartnerInvoice.id).where(PartnerInvoice.partner_id == first_partner)).first() is not None
        if complete:
            n_customers = conn.execute(select(func.count()).select_from(Customer.__table__)
                                       .where(Customer.id.like("C-S%"))).scalar_one()
            say(f"synthetic data: already present (partner {first_partner} exists; "
                f"{n_customers:,} synthetic customers)")
            return added
        if partner_exists:
            existing = set(conn.execute(select(Customer.id).where(Customer.id.like("C-S%"))).scalars())
            say(f"synthetic data: resuming an interrupted run ({len(existing):,} customers already there)")
        else:
            existing = set()
            conn.execute(insert(Partner.__table__), partner_rows)
            conn.execute(insert(CollectionsPolicy.__table__), policy_rows)
            added["partners"] = partners

    total_invoices = customers * invoices_per_customer
    say(f"synthetic data: {partners} partners, {customers:,} customers x {invoices_per_customer} invoices "
        f"= {total_invoices:,} invoices ...", flush=True)
    started = time.monotonic()
    done = 0
    conn = engine.connect()
    tx = conn.begin()
    uncommitted = 0
    try:
        for start, batch_seed in zip(batch_starts, batch_seeds):
            last = min(start + per_batch - 1, customers)
            if _customer_id(start) in existing:  # batches are committed whole: this one is complete
                done += (last - start + 1) * invoices_per_customer
                continue
            batch = _Batch(random.Random(batch_seed), start, last, invoices_per_customer, periods, width, policies)
            n_lines, n_payments = _insert_batch(conn, batch)
            added["customers"] += len(batch.customers)
            added["invoices"] += len(batch.invoices)
            added["invoice_lines"] += n_lines
            added["payments"] += n_payments
            done += len(batch.invoices)
            uncommitted += len(batch.invoices)
            if uncommitted >= COMMIT_INVOICES:
                tx.commit()
                tx = conn.begin()
                uncommitted = 0
                say(f"  {done:>11,} / {total_invoices:,} invoices  ({time.monotonic() - started:.0f}s)", flush=True)
        # The partner invoices go last: their presence marks the data set complete.
        conn.execute(insert(PartnerInvoice.__table__), partner_invoices)
        tx.commit()
    except BaseException:
        tx.rollback()
        raise
    finally:
        conn.close()
    elapsed = time.monotonic() - started
    say(f"synthetic data: added {added['customers']:,} customers, {added['invoices']:,} invoices, "
        f"{added['invoice_lines']:,} lines, {added['payments']:,} payments in {elapsed:.1f}s", flush=True)
    return added
