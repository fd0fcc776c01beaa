"""The customer's side of fapiao requests: what would be filed, filing it, and its status.

Every function takes the verified customer id and filters by it: an invoice number or a
reference the customer types is a filter, never a key, so a foreign invoice gets the same answer
(`no_invoice`) as a missing one, and a foreign reference the same (None) as a missing one.

The conversation may call `type_problem` as soon as the type is known (a small-scale taxpayer
cannot get a special fapiao, whichever invoice), `prepare_request` to show the summary
(prefilled from the customer's registered tax facts) and, after the customer confirms,
`file_request` with the same arguments.

One live request per invoice: a request that is `requested` or `issued` holds its invoice
(`fapiao_requests.active_invoice_id`, unique), so
- the same request again (same invoice and type) answers with the first one (created False);
- a request of the other type for that invoice is refused (`other_type_requested`, with the
  first one): a payment is invoiced once, ordinary or special, never both; the partner rejects
  the first if the customer asked for the wrong type;
- a rejected request frees its invoice, and a new request (new reference) may be filed.
"""
from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from bot.billing.invoices import all_invoices, find_invoice
from bot.billing.parsing import normalize_invoice_number
from bot.billing.views import InvoiceView
from bot.billing.policy import add_business_days
from bot.db.models import Customer, Invoice
from bot.db.unique import insert_or_winner
from bot.fapiao.checks import check_email, check_tax_id, check_title
from bot.fapiao.models import FORMS, TYPES, FapiaoRequest, State, utcnow
from bot.fapiao.policy import policy_for_customer, tax_profile
from bot.fapiao.store import (
    add_event,
    begin_write_transaction,
    customer_actor,
    new_reference,
    normalise_reference,
)
from bot.fapiao.views import FapiaoDraft, FapiaoPolicyView, FapiaoRequestView, Filing, TaxProfileView

logger = logging.getLogger(__name__)

# Why a request cannot be filed (FapiaoDraft.problem, Filing.problem), in the order they are checked:
# the invoice, then whether this customer can get this type at all (type_problem), then payment.
NO_INVOICE = "no_invoice"  # no such invoice for this customer (missing or another company's)
OTHER_TYPE_REQUESTED = "other_type_requested"  # the invoice has a live request of the other type
NOT_OFFERED = "not_offered"  # the partner takes no fapiao requests here (no policy)
NO_TAX_PROFILE = "no_tax_profile"  # the customer's registered tax facts are not on file
NOT_GENERAL_TAXPAYER = "not_general_taxpayer"  # special fapiao: general VAT taxpayers (一般纳税人) only
SPECIAL_NOT_OFFERED = "special_not_offered"  # the partner's policy offers no special fapiao
SPECIAL_DETAILS_MISSING = "special_details_missing"  # bank, account, address or phone not on file
PAPER_NOT_OFFERED = "paper_not_offered"
INVOICE_UNPAID = "invoice_unpaid"  # fapiao are issued for paid invoices only
# then "title_<problem>", "tax_id_<problem>" and "email_<problem>" with the problems of bot/fapiao/checks.py,
# and TAX_ID_NOT_REGISTERED for a valid code that is not the customer's registered one.
TAX_ID_NOT_REGISTERED = "tax_id_not_registered"

REFUSALS = (
    NO_INVOICE, OTHER_TYPE_REQUESTED, NOT_OFFERED, NO_TAX_PROFILE, NOT_GENERAL_TAXPAYER, SPECIAL_NOT_OFFERED,
    SPECIAL_DETAILS_MISSING, PAPER_NOT_OFFERED, INVOICE_UNPAID,
    "title_empty", "title_trading_name", "title_mismatch",
    "tax_id_empty", "tax_id_wrong_length", "tax_id_bad_characters", "tax_id_bad_check_digit", TAX_ID_NOT_REGISTERED,
    "email_empty", "email_invalid",
)

__all__ = [
    "REFUSALS",
    "file_request",
    "get_request",
    "prepare_request",
    "requestable_invoices",
    "requests_for_customer",
    "type_problem",
]


def _live_request(session: Session, invoice_id: int) -> FapiaoRequest | None:
    return session.scalars(select(FapiaoRequest).where(FapiaoRequest.active_invoice_id == invoice_id)).first()


def _invoice_id(session: Session, customer_id: str, number: str) -> int | None:
    return session.scalar(select(Invoice.id).where(Invoice.customer_id == customer_id, Invoice.number == number))


def _type_problem(policy: FapiaoPolicyView | None, profile: TaxProfileView | None, fapiao_type: str,
                  form: str) -> str | None:
    if policy is None:
        return NOT_OFFERED
    if profile is None:
        return NO_TAX_PROFILE
    if fapiao_type == "special":
        if profile.taxpayer_type != "general":
            return NOT_GENERAL_TAXPAYER
        if not policy.offers_special:
            return SPECIAL_NOT_OFFERED
        if not profile.has_special_details:
            return SPECIAL_DETAILS_MISSING
    if form == "paper" and not policy.offers_paper:
        return PAPER_NOT_OFFERED
    return None


def type_problem(session: Session, customer_id: str, fapiao_type: str, form: str = "digital") -> str | None:
    """Can the customer get this type (and form) of fapiao at all, whichever invoice? None when
    yes; otherwise the refusal code (not_offered, no_tax_profile, not_general_taxpayer,
    special_not_offered, special_details_missing, paper_not_offered). Lets the conversation
    explain at once, before asking which invoice."""
    _check_choice(fapiao_type, form)
    return _type_problem(policy_for_customer(session, customer_id), tax_profile(session, customer_id),
                         fapiao_type, form)


def _check_choice(fapiao_type: str, form: str) -> None:
    if fapiao_type not in TYPES:
        raise ValueError(f"fapiao_type must be one of {', '.join(TYPES)}")
    if form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(FORMS)}")


def _prepare(session: Session, customer_id: str, *, invoice_number: str | None, fapiao_type: str, today: date,
             email: str | None, title: str | None, tax_id: str | None, form: str
             ) -> tuple[FapiaoDraft, int | None, FapiaoRequest | None]:
    """The draft, the invoice's id, and the live request already holding the invoice."""
    _check_choice(fapiao_type, form)

    def refused(problem: str, **known) -> tuple[FapiaoDraft, int | None, None]:
        return FapiaoDraft(problem, None, fapiao_type=fapiao_type, form=form, **known), None, None

    number = normalize_invoice_number(invoice_number)
    invoice = find_invoice(session, customer_id, number) if number else None
    if invoice is None:
        return refused(NO_INVOICE, invoice=None)
    invoice_id = _invoice_id(session, customer_id, invoice.number)

    live = _live_request(session, invoice_id)
    if live is not None:
        view = FapiaoRequestView.of(live)
        problem = None if live.fapiao_type == fapiao_type else OTHER_TYPE_REQUESTED
        draft = FapiaoDraft(problem, view, invoice, fapiao_type=live.fapiao_type, form=live.form, title=live.title,
                            tax_id=live.tax_id, bank_name=live.bank_name, bank_account=live.bank_account,
                            address=live.address, phone=live.phone, email=live.email, due_by=live.due_by)
        return draft, invoice_id, live

    policy, profile = policy_for_customer(session, customer_id), tax_profile(session, customer_id)
    problem = _type_problem(policy, profile, fapiao_type, form)
    if problem:
        return refused(problem, invoice=invoice)
    if not invoice.is_paid:
        return refused(INVOICE_UNPAID, invoice=invoice)

    checked_title, problem = (profile.registered_name, None) if title is None else check_title(
        title, profile.registered_name, profile.trading_name)
    if problem:
        return refused(f"title_{problem}", invoice=invoice)
    checked_tax_id, problem = (profile.tax_id, None) if tax_id is None else check_tax_id(tax_id)
    if problem:
        return refused(f"tax_id_{problem}", invoice=invoice)
    if checked_tax_id != profile.tax_id:
        return refused(TAX_ID_NOT_REGISTERED, invoice=invoice)
    checked_email, problem = check_email(email if email is not None else profile.email)
    if problem:
        return refused(f"email_{problem}", invoice=invoice)

    special = fapiao_type == "special"
    draft = FapiaoDraft(
        None, None, invoice, fapiao_type=fapiao_type, form=form, title=checked_title, tax_id=checked_tax_id,
        bank_name=profile.bank_name if special else None, bank_account=profile.bank_account if special else None,
        address=profile.address if special else None, phone=profile.phone if special else None,
        email=checked_email, due_by=add_business_days(today, policy.issue_business_days),
        issue_business_days=policy.issue_business_days,
    )
    return draft, invoice_id, None


def prepare_request(session: Session, customer_id: str, *, invoice_number: str | None, fapiao_type: str,
                    today: date, email: str | None = None, title: str | None = None, tax_id: str | None = None,
                    form: str = "digital") -> FapiaoDraft:
    """What `file_request` would record, for the summary the customer confirms; or why not.

    Title, taxpayer id and email default to the registered tax facts (prefilled); when the
    customer typed them, they are checked (bot/fapiao/checks.py) and must be the registered ones.
    Bank, account, address and phone (special fapiao) always come from the registered facts.
    """
    draft, _, _ = _prepare(session, customer_id, invoice_number=invoice_number, fapiao_type=fapiao_type,
                           today=today, email=email, title=title, tax_id=tax_id, form=form)
    return draft


def _answer_for_existing(existing: FapiaoRequest, fapiao_type: str) -> Filing:
    problem = None if existing.fapiao_type == fapiao_type else OTHER_TYPE_REQUESTED
    return Filing(FapiaoRequestView.of(existing), created=False, problem=problem)


def file_request(session: Session, customer_id: str, *, invoice_number: str | None, fapiao_type: str,
                 today: date, email: str | None = None, title: str | None = None, tax_id: str | None = None,
                 form: str = "digital", conversation_id: str | None = None) -> Filing:
    """Record the request for the partner (after the customer confirmed the summary).

    Runs in the caller's transaction. A concurrent filing for the same invoice is settled by the
    unique `active_invoice_id`: the loser's SAVEPOINT is rolled back and it answers with the winner.
    """
    begin_write_transaction(session)
    draft, invoice_id, live = _prepare(session, customer_id, invoice_number=invoice_number,
                                       fapiao_type=fapiao_type, today=today, email=email, title=title,
                                       tax_id=tax_id, form=form)
    if live is not None:
        return _answer_for_existing(live, fapiao_type)
    if draft.problem is not None:
        return Filing(None, created=False, problem=draft.problem)

    partner_id = session.get(Customer, customer_id).partner_id
    now = utcnow()
    def build() -> FapiaoRequest:
        return FapiaoRequest(
            reference=new_reference(), active_invoice_id=invoice_id, customer_id=customer_id,
            partner_id=partner_id, invoice_id=invoice_id, invoice_number=draft.invoice.number,
            fapiao_type=draft.fapiao_type, form=draft.form, amount=draft.invoice.total,
            currency=draft.invoice.currency, title=draft.title, tax_id=draft.tax_id, bank_name=draft.bank_name,
            bank_account=draft.bank_account, address=draft.address, phone=draft.phone, email=draft.email,
            state=State.REQUESTED, requested_on=today, due_by=draft.due_by, conversation_id=conversation_id,
            created_at=now, updated_at=now,
        )

    row, winner = insert_or_winner(session, build, lambda: _live_request(session, invoice_id))
    if winner is not None:
        logger.info("fapiao request %s was filed concurrently; returning it", winner.reference)
        return _answer_for_existing(winner, fapiao_type)
    add_event(session, row.id, "requested", customer_actor(customer_id), invoice_number=row.invoice_number,
              fapiao_type=row.fapiao_type, form=row.form, due_by=row.due_by.isoformat())
    session.flush()
    logger.info("fapiao request %s filed for %s (%s, invoice %s)", row.reference, customer_id,
                row.fapiao_type, row.invoice_number)
    return Filing(FapiaoRequestView.of(row), created=True, problem=None)


def get_request(session: Session, customer_id: str, reference: str) -> FapiaoRequestView | None:
    """The customer's request with that reference; None for a missing or another customer's."""
    row = session.scalars(select(FapiaoRequest).where(
        FapiaoRequest.reference == normalise_reference(reference), FapiaoRequest.customer_id == customer_id)).first()
    return FapiaoRequestView.of(row) if row else None


def requests_for_customer(session: Session, customer_id: str, *, invoice_number: str | None = None,
                          limit: int = 10) -> list[FapiaoRequestView]:
    """"Has my fapiao been issued?": the customer's requests, open ones first, newest first within.

    With an invoice number (typed, so a filter), only that invoice's; none for a foreign one."""
    stmt = select(FapiaoRequest).where(FapiaoRequest.customer_id == customer_id)
    if invoice_number is not None:
        stmt = stmt.where(FapiaoRequest.invoice_number == (normalize_invoice_number(invoice_number) or ""))
    open_first = case((FapiaoRequest.state == State.REQUESTED, 0), else_=1)
    stmt = stmt.order_by(open_first, FapiaoRequest.created_at.desc(), FapiaoRequest.id.desc()).limit(limit)
    return [FapiaoRequestView.of(row) for row in session.scalars(stmt)]


def requestable_invoices(session: Session, customer_id: str) -> list[InvoiceView]:
    """The customer's paid invoices without a live fapiao request, newest first."""
    held = set(session.scalars(select(FapiaoRequest.invoice_number).where(
        FapiaoRequest.customer_id == customer_id, FapiaoRequest.active_invoice_id.is_not(None))))
    return [v for v in all_invoices(session, customer_id) if v.is_paid and v.number not in held]
