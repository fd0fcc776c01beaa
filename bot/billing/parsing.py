"""Turning what people type (invoice numbers, months, amounts) into canonical values."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

INVOICE_NUMBER_FORMAT = "G followed by nine digits, for example G000100002"

_MONTHS = {name: number for number, names in enumerate([
    (), ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
    ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
    ("october", "oct"), ("november", "nov"), ("december", "dec")]) for name in names}


def normalize_invoice_number(text: str | None) -> str | None:
    """`g 000 100 002`, `G-000-100-002`, `inv no. 000100002` -> `G000100002`; None when the text is
    not exactly one invoice number."""
    mention = invoice_mention(text)
    if mention is None or mention.number is None:
        return None
    rest = (str(text).replace(mention.typed, " ", 1)).strip(" .#:-")
    return mention.number if not re.search(r"[A-Za-z0-9]", re.sub(r"(?i)\b(invoice|inv|bill|no|number|nr)\b", "", rest)) else None


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def shift_period(period: str, months: int) -> str:
    """`2026-10`, -2 -> `2026-08`."""
    year, month = _shift_month(*(int(part) for part in period.split("-")), months)
    return f"{year:04d}-{month:02d}"


def previous_period(period: str) -> str:
    """`2026-01` -> `2025-12`."""
    year, month = _shift_month(*(int(part) for part in period.split("-")), -1)
    return f"{year:04d}-{month:02d}"


# How people write invoice numbers: G000100002, g 000 100 002, G-000-100-002, G 000-100-002,
# "inv no. g000100001", "invoice #000100002" (no G), "invoice 000-100-002".
_G_START = re.compile(r"(?<![A-Za-z0-9.])[Gg][\s#:.-]{0,2}(?=\d)")  # not the g of "e.g. 3"
_CUED_DIGITS = re.compile(r"(?i)(?:\b(?:invoice|inv)s?\b\.?\s*(?:no\b\.?|number|num\b|nr\b\.?)?\s*[#:]?"
                          r"|\bbills?\s*(?:no\b\.?|number|nr\b\.?|#)\s*[#:]?"
                          r"|(?<![A-Za-z0-9])(?:no\.|nr\.|#))\s*(?=\d)")
_PERIOD_SHAPED = re.compile(r"(?:19|20)\d{2}\s*[-/ ]\s*\d{1,2}\b")  # "invoice 2026-10" is a month
# Bare digits that are an invoice number without its G: nine in a row, or 000-100-002.
_LONE_DIGITS = re.compile(r"(?<![\w.,/-])(?:\d{9}|\d{3}[ -]\d{3}[ -]\d{3})(?![\w.,/-])")
_DIGIT_GROUP = re.compile(r"[ -]?(\d+)")
MIN_ATTEMPT_DIGITS = 5  # "G5 instance" is not an attempt at an invoice number; "G12345" is
INVOICE_DIGITS = 9


@dataclass(frozen=True)
class InvoiceMention:
    typed: str  # as the customer wrote it
    number: str | None  # G + nine digits, or None when it can't be one


def _digits_from(text: str, start: int) -> tuple[str, int]:
    """Digit groups from `start`, separated by one space or dash, while they fit in a number."""
    digits, end = "", start
    for match in _DIGIT_GROUP.finditer(text, start):
        if match.start() != end or len(digits) + len(match.group(1)) > INVOICE_DIGITS and digits:
            break
        digits, end = digits + match.group(1), match.end()
    return digits, end


def invoice_mention(text: str | None) -> InvoiceMention | None:
    """The invoice number the text names, in any spelling: the first valid one, else the first
    attempt (its `number` None: too few or too many digits). None when no number is named.

    A G and five or more digits start a number; digits without the G count after "invoice",
    "no." or "#" (six or more, and not shaped like a month: "invoice 2026-10"), or when they are
    nine on their own. Amounts, years and phone numbers are not invoice numbers."""
    if not text:
        return None
    found: list[tuple[int, str, str]] = []
    for match in _G_START.finditer(text):
        digits, end = _digits_from(text, match.end())
        if len(digits) >= MIN_ATTEMPT_DIGITS:
            found.append((match.start(), text[match.start():end], digits))
    for match in _CUED_DIGITS.finditer(text):
        if _PERIOD_SHAPED.match(text, match.end()):
            continue
        digits, end = _digits_from(text, match.end())
        if len(digits) >= 6 and text[end:end + 1] != "/":
            found.append((match.start(), text[match.start():end], digits))
    for match in _LONE_DIGITS.finditer(text):
        digits, end = _digits_from(text, match.start())
        found.append((match.start(), text[match.start():end], digits))
    if not found:
        return None
    valid = [f for f in found if len(f[2]) == INVOICE_DIGITS]
    _, typed, digits = min(valid or found)
    return InvoiceMention(typed.strip(), f"G{digits}" if len(digits) == INVOICE_DIGITS else None)


def parse_period(text: str | None, today: date) -> str | None:
    """A billing period `YYYY-MM` from `2026-09`, `09/2026`, `October`, `Oct 2026`, `last month`.

    A month without a year means the most recent such month that has started (in November,
    "December" is last December: bills are about the past).
    """
    if not text:
        return None
    lowered = str(text).lower().strip()
    if m := re.search(r"\b((?:19|20)\d{2})\s*[-/]\s*(0?[1-9]|1[0-2])\b", lowered):
        return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    if m := re.search(r"\b(0?[1-9]|1[0-2])\s*/\s*((?:19|20)\d{2})\b", lowered):
        return f"{int(m.group(2)):04d}-{int(m.group(1)):02d}"
    if re.search(r"\b(last|previous|past|prior)\s+month", lowered):
        year, month = _shift_month(today.year, today.month, -1)
        return f"{year:04d}-{month:02d}"
    if re.search(r"\b(this|current)\s+month", lowered):
        return f"{today.year:04d}-{today.month:02d}"
    for word in re.findall(r"[a-z]+", lowered):
        if word in _MONTHS:
            month = _MONTHS[word]
            year_match = re.search(r"\b((?:19|20)\d{2})\b", lowered)
            if year_match:
                year = int(year_match.group(1))
            else:
                year = today.year if month <= today.month else today.year - 1
            return f"{year:04d}-{month:02d}"
    return None


def parse_amount(text: str | None) -> Decimal | None:
    """`CNY 4,500.00`, `¥300`, `4500 yuan` -> Decimal; None when there is no amount."""
    if not text:
        return None
    m = re.search(r"\d[\d,]*(?:\.\d{1,2})?", str(text))
    if not m:
        return None
    try:
        return Decimal(m.group(0).replace(",", "")).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
