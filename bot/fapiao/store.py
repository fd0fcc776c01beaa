"""Plumbing shared by the customer's and the partner's side: the write lock, references, history.

Functions never commit: the caller's `session_scope` does, so a request, its history and its
notice land in one transaction.
"""
from __future__ import annotations

import re
import secrets
import unicodedata
from typing import Any

from sqlalchemy import false, select, update
from sqlalchemy.orm import Session

from bot.fapiao.models import FapiaoEvent, FapiaoRequest, utcnow

REFERENCE_PREFIX = "FP-"
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone
_REFERENCE_LENGTH = 6  # 32^6, about 10^9: not guessable, and a customer only ever sees their own
_NOT_REFERENCE = re.compile(r"[\s\-_]+")
MAX_STAFF_NAME_CHARS = 80


def new_reference() -> str:
    return REFERENCE_PREFIX + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(_REFERENCE_LENGTH))


def normalise_reference(text: str | None) -> str:
    """FP-7K3M9Q as typed: full-width, lower case, spaces or no hyphen ("fp 7k3m9q", "ＦＰ７Ｋ３Ｍ９Ｑ")."""
    compact = _NOT_REFERENCE.sub("", unicodedata.normalize("NFKC", text or "")).upper()
    if compact.startswith(REFERENCE_PREFIX[:-1]):
        compact = REFERENCE_PREFIX + compact[len(REFERENCE_PREFIX) - 1:]
    return compact


def begin_write_transaction(session: Session) -> None:
    """Hold a real write transaction before reading what will change (see
    bot/escalation/records.py for why): on SQLite a write that touches nothing takes the
    database's write lock now, so two writers never both read "no request yet"; on PostgreSQL
    rows are locked with SELECT ... FOR UPDATE and the unique keys settle concurrent inserts."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(FapiaoRequest).where(false()).values(state=FapiaoRequest.state))


def lock_request(session: Session, reference: str, *, partner_id: str | None = None,
                 customer_id: str | None = None) -> FapiaoRequest | None:
    """The request with that reference, locked for change, if it belongs to that partner or customer."""
    if (partner_id is None) == (customer_id is None):
        raise ValueError("scope by exactly one of partner_id and customer_id")
    begin_write_transaction(session)
    stmt = select(FapiaoRequest).where(FapiaoRequest.reference == normalise_reference(reference))
    stmt = (stmt.where(FapiaoRequest.partner_id == partner_id) if partner_id is not None
            else stmt.where(FapiaoRequest.customer_id == customer_id))
    return session.scalars(stmt.with_for_update().execution_options(populate_existing=True)).first()


def customer_actor(customer_id: str) -> str:
    return f"customer:{customer_id}"


def staff_actor(partner_id: str, staff_name: str) -> str:
    """Who on the partner's side did it: partner:P-01:Mei Chen."""
    name = " ".join((staff_name or "").split())
    if not name or len(name) > MAX_STAFF_NAME_CHARS or not name.isprintable():
        raise ValueError("staff_name must name the person (1-80 printable characters)")
    return f"partner:{partner_id}:{name}"


def add_event(session: Session, request_id: int, kind: str, actor: str, **detail: Any) -> None:
    session.add(FapiaoEvent(request_id=request_id, at=utcnow(), kind=kind, actor=actor,
                            detail={k: v for k, v in detail.items() if v is not None} or None))
