"""Which of the partner's customers a staff member means: "contoso", "north wind", "C-1002", 康托索.

Staff type names the way they say them, so a name matches by its distinctive words, written
together or apart, by the customer id, by the Chinese registered name, or by a near spelling
("fabrikan"). Only the partner's own customers are ever candidates.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Customer
from bot.fapiao.models import CustomerTaxProfile

# Words that name no one in particular: "Lakeshore Cloud Partners", "Contoso Ltd", "Tailspin Toys".
_COMMON_WORDS = {"ltd", "inc", "limited", "company", "co", "corp", "group", "traders", "trading", "toys", "cloud",
                 "partners", "the", "llc", "gmbh"}
_CHINESE_SUFFIXES = re.compile(r"[（(].*?[）)]|有限公司|股份|科技|商贸|贸易|玩具")
_NEAR = 0.84  # "fabrikan" ~ "fabrikam"; "contosa" ~ "contoso"; "tailspn" ~ "tailspin"


@dataclass(frozen=True)
class CustomerRef:
    customer_id: str
    name: str


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _distinctive_words(name: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", _fold(name)) if len(w) > 2 and w not in _COMMON_WORDS]


def _chinese_core(registered_name: str | None) -> str | None:
    """康托索（上海）科技有限公司 -> 康托索: what staff would call it."""
    if not registered_name:
        return None
    core = _CHINESE_SUFFIXES.sub("", unicodedata.normalize("NFKC", registered_name))
    return core if len(core) >= 2 else None


def partner_customers(session: Session, partner_id: str) -> list[CustomerRef]:
    return [CustomerRef(cid, name) for cid, name in session.execute(
        select(Customer.id, Customer.name).where(Customer.partner_id == partner_id).order_by(Customer.name))]


def customers_named_in(session: Session, partner_id: str, text: str) -> list[CustomerRef]:
    """The partner's customers a message names: exact mentions first; near spellings only when
    nothing is named exactly. Empty when it names none of them."""
    folded = _fold(text)
    words = re.findall(r"[a-z0-9-]+", folded)
    compact = re.sub(r"[^a-z0-9\u4e00-\u9fff-]", "", folded)
    registered = dict(session.execute(
        select(CustomerTaxProfile.customer_id, CustomerTaxProfile.registered_name)
        .join(Customer, Customer.id == CustomerTaxProfile.customer_id).where(Customer.partner_id == partner_id)).all())
    exact, near = [], []
    for ref in partner_customers(session, partner_id):
        distinctive = _distinctive_words(ref.name)
        chinese = _chinese_core(registered.get(ref.customer_id))
        if (ref.customer_id.lower() in words or any(w in compact for w in distinctive)
                or (chinese and chinese in compact) or re.sub(r"[^a-z0-9]", "", _fold(ref.name)) in compact):
            exact.append(ref)
        elif any(SequenceMatcher(None, w, d).ratio() >= _NEAR for w in words if len(w) > 3 for d in distinctive):
            near.append(ref)
    return exact or near
