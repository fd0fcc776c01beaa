"""Checks of what people type for a fapiao, each returning (the normalised value | None, a problem code | None).

Pure functions: no database, no wording. Text is first normalised with NFKC, so full-width
characters typed with a Chinese input method (９１３１…, ＦＰ－…, （上海）, ＠) count as the
ASCII ones.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date

from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

# check_tax_id
TAX_ID_EMPTY = "empty"
TAX_ID_WRONG_LENGTH = "wrong_length"  # not 18 characters
TAX_ID_BAD_CHARACTERS = "bad_characters"  # not digits and the letters the code uses (never I, O, S, V, Z)
TAX_ID_BAD_CHECK_DIGIT = "bad_check_digit"  # the last character does not match the other 17 (a typo)

# check_title
TITLE_EMPTY = "empty"
TITLE_TRADING_NAME = "trading_name"  # the customer's trading name (Contoso Ltd), not the registered one
TITLE_MISMATCH = "mismatch"

# check_email
EMAIL_EMPTY = "empty"
EMAIL_INVALID = "invalid"

# check_fapiao_number
NUMBER_EMPTY = "empty"
NUMBER_NOT_DIGITS = "not_digits"
NUMBER_WRONG_LENGTH = "wrong_length"
NUMBER_YEAR_MISMATCH = "year_mismatch"

_TAX_ID_CHARACTERS = re.compile(r"[0-9A-Z]*")
_SEPARATORS = re.compile(r"[\s\-]+")
_EMAIL_DOMAIN_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
MAX_EMAIL_CHARS = 254


def _nfkc(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def check_tax_id(text: str | None) -> tuple[str | None, str | None]:
    """The 纳税人识别号 of a company: its 18-character unified social credit code (统一社会信用代码).

    Spaces and hyphens are ignored and letters upper-cased; the code itself is checked by
    python-stdnum's `cn.uscc` (length, characters and the check digit), so a mistyped
    character is caught, not only a wrong shape.
    """
    number = _SEPARATORS.sub("", _nfkc(text)).upper()
    if not number:
        return None, TAX_ID_EMPTY
    if not _TAX_ID_CHARACTERS.fullmatch(number):  # Chinese words, punctuation: not part of a code
        return None, TAX_ID_BAD_CHARACTERS
    try:
        return uscc.validate(number), None
    except InvalidLength:
        return None, TAX_ID_WRONG_LENGTH
    except InvalidFormat:
        return None, TAX_ID_BAD_CHARACTERS
    except InvalidChecksum:
        return None, TAX_ID_BAD_CHECK_DIGIT
    except ValidationError:  # a future stdnum problem we do not know yet: refuse, as characters
        return None, TAX_ID_BAD_CHARACTERS


def title_key(text: str | None) -> str:
    """What two titles must share to be the same: NFKC (full-width brackets and letters become
    ASCII), case folded, with no whitespace at all."""
    return "".join(_nfkc(text).casefold().split())


def check_title(text: str | None, registered_name: str, trading_name: str | None = None
                ) -> tuple[str | None, str | None]:
    """The 发票抬头 must be the company's registered name. The value returned is the registered
    name exactly as on file, whatever spacing or width the customer typed."""
    key = title_key(text)
    if not key:
        return None, TITLE_EMPTY
    if key == title_key(registered_name):
        return registered_name, None
    if trading_name and key == title_key(trading_name):
        return None, TITLE_TRADING_NAME
    return None, TITLE_MISMATCH


def check_email(text: str | None) -> tuple[str | None, str | None]:
    """A plausible address for the electronic copy: one @, something before it, a domain with a
    dot and no spaces. The domain is lower-cased; the local part is kept as typed."""
    address = _nfkc(text)
    if not address:
        return None, EMAIL_EMPTY
    local, at, domain = address.rpartition("@")
    domain = domain.lower().rstrip(".")
    labels = domain.split(".")
    if (not at or not local or "@" in local or len(address) > MAX_EMAIL_CHARS or any(c.isspace() for c in address)
            or len(labels) < 2 or not all(_EMAIL_DOMAIN_LABEL.fullmatch(label) for label in labels)):
        return None, EMAIL_INVALID
    return f"{local}@{domain}", None


NUMBER_LENGTHS = {"digital": 20, "paper": 8}


def check_fapiao_number(text: str | None, form: str, issued_on: date | None = None
                        ) -> tuple[str | None, str | None]:
    """The number partner staff read off the fapiao they issued (发票号码).

    - A fully digitalised e-invoice (数电票, form `digital`) has a 20-digit number: digits 1-2
      are the year it was issued (26 for 2026), 3-4 the provincial tax bureau, 5 the issuing
      channel, 6-20 a sequence. So with the issue date known, the first two digits must match it.
    - A paper fapiao (and the older 税控 e-fapiao) has an 8-digit number, printed next to a
      10- or 12-digit 发票代码 (code), which is not recorded here yet.
    """
    number = _SEPARATORS.sub("", _nfkc(text))
    if not number:
        return None, NUMBER_EMPTY
    if not number.isascii() or not number.isdigit():
        return None, NUMBER_NOT_DIGITS
    if len(number) != NUMBER_LENGTHS[form]:
        return None, NUMBER_WRONG_LENGTH
    if form == "digital" and issued_on is not None and number[:2] != f"{issued_on.year % 100:02d}":
        return None, NUMBER_YEAR_MISMATCH
    return number, None


_REFERENCE_IN_TEXT = re.compile(r"(?<![A-Z0-9])F\s*P[\s_-]*([A-Z0-9]{6})(?![A-Z0-9])")
_NUMBER_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])(\d[\d -]{6,40}\d)(?![A-Za-z0-9])")  # digits, maybe grouped


def reference_in(text: str | None) -> str | None:
    """The fapiao request a staff member names: "issue fp-7k3m9q ...", "FP 7K3M9Q 已开票"."""
    found = _REFERENCE_IN_TEXT.search(_nfkc(text).upper())
    return f"FP-{found.group(1)}" if found else None


def number_in(text: str | None) -> str | None:
    """The fapiao number in a staff member's message: 20 digits (数电票) or 8 (paper), perhaps
    written in groups ("2631 1000 0000 1234 5678"); never digits glued to a reference."""
    for found in _NUMBER_IN_TEXT.finditer(_nfkc(text)):
        digits = re.sub(r"[ -]", "", found.group(1))
        if len(digits) in (8, 20):
            return digits
    return None
