"""The partner's fapiao policy and the customer's registered tax facts: settings in the database.

How long a partner takes to issue a fapiao, whether it offers special or paper fapiao, and what
it wants customers to know are the partner's decisions: rows in `fapiao_policies`, changed with
`set_fapiao_policy` (or `python -m bot.fapiao policy P-01 ...`), never constants in code.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from bot.db.models import Customer, Partner
from bot.fapiao.models import CustomerTaxProfile, FapiaoPolicy
from bot.fapiao.views import FapiaoPolicyView, TaxProfileView

MAX_ISSUE_BUSINESS_DAYS = 60
MAX_NOTE_CHARS = 1000
_UNSET = object()


def fapiao_policy(session: Session, partner_id: str) -> FapiaoPolicyView | None:
    """The partner's fapiao settings; None when the partner takes no fapiao requests here."""
    row = session.get(FapiaoPolicy, partner_id)
    if row is None:
        return None
    return FapiaoPolicyView.of(row, session.get(Partner, partner_id).name)


def policy_for_customer(session: Session, customer_id: str) -> FapiaoPolicyView | None:
    """The fapiao policy of the customer's partner (who issues their fapiao)."""
    customer = session.get(Customer, customer_id)
    return fapiao_policy(session, customer.partner_id) if customer else None


def set_fapiao_policy(session: Session, partner_id: str, *, issue_business_days: int | None = None,
                      offers_special: bool | None = None, offers_paper: bool | None = None,
                      note: str | None | object = _UNSET) -> FapiaoPolicyView:
    """Create or change the partner's policy; arguments left out keep their value (a new policy
    needs `issue_business_days`). `note=None` or "" removes the note."""
    if session.get(Partner, partner_id) is None:
        raise ValueError(f"no partner {partner_id}")
    if issue_business_days is not None and not 1 <= issue_business_days <= MAX_ISSUE_BUSINESS_DAYS:
        raise ValueError(f"issue_business_days must be 1-{MAX_ISSUE_BUSINESS_DAYS}")
    row = session.get(FapiaoPolicy, partner_id)
    if row is None:
        if issue_business_days is None:
            raise ValueError("a new fapiao policy needs issue_business_days")
        row = FapiaoPolicy(partner_id=partner_id, issue_business_days=issue_business_days,
                           offers_special=bool(offers_special), offers_paper=bool(offers_paper))
        session.add(row)
    if issue_business_days is not None:
        row.issue_business_days = issue_business_days
    if offers_special is not None:
        row.offers_special = offers_special
    if offers_paper is not None:
        row.offers_paper = offers_paper
    if note is not _UNSET:
        row.note = (str(note or "").strip()[:MAX_NOTE_CHARS]) or None
    session.flush()
    return fapiao_policy(session, partner_id)


def tax_profile(session: Session, customer_id: str) -> TaxProfileView | None:
    """The verified customer's registered tax facts, to prefill a request; None when not on file."""
    row = session.get(CustomerTaxProfile, customer_id)
    if row is None:
        return None
    return TaxProfileView.of(row, session.get(Customer, customer_id).name)
