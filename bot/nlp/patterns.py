"""Entity-ruler patterns for billing identifiers. The labels are the Rasa entity names.

Recognising is generous (lower case, spaces inside an invoice number); the actions normalise
and validate what was recognised (bot.billing.parsing).
"""
from __future__ import annotations

INVOICE_NUMBER = "invoice_number"
BILLING_PERIOD = "billing_period"
AMOUNT = "amount"
LABELS = (INVOICE_NUMBER, BILLING_PERIOD, AMOUNT)

MONTHS = ["january", "february", "march", "april", "june", "july", "august", "september", "october",
          "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
          "nov", "dec"]
# "may" is usually a verb ("may I see ..."): only a month next to a year or a preposition.
PREPOSITIONS = ["in", "for", "from", "of", "since", "during"]
RELATIVE = ["last", "previous", "this", "current", "past", "prior"]
CURRENCY_WORDS = ["cny", "rmb", "yuan", "¥", "￥", "rmb¥"]
NUMBER = r"^\d{1,3}(,\d{3})+(\.\d{1,2})?$|^\d+(\.\d{1,2})?$"
YEAR = r"^(19|20)\d{2}$"


def patterns() -> list[dict]:
    year = {"TEXT": {"REGEX": YEAR}}
    return [
        # G000100002, g000100002
        {"label": INVOICE_NUMBER, "pattern": [{"TEXT": {"REGEX": r"^[Gg]\d{9}$"}}]},
        # G 000100002, G000 100 002, g 000 100 002, G000-100-002, G-000-100-002 (spaCy splits at the dashes)
        {"label": INVOICE_NUMBER, "pattern": [{"TEXT": {"REGEX": r"^[Gg]-?\d{0,8}$"}},
                                              {"TEXT": {"REGEX": r"^(-|\d{1,9})$"}, "OP": "+"}]},
        # 2026-09 (spaCy splits it into three tokens), 2026/09, 09/2026
        {"label": BILLING_PERIOD, "pattern": [year, {"TEXT": {"IN": ["-", "/"]}}, {"TEXT": {"REGEX": r"^(0?[1-9]|1[0-2])$"}}]},
        {"label": BILLING_PERIOD, "pattern": [{"TEXT": {"REGEX": r"^(19|20)\d{2}[-/](0?[1-9]|1[0-2])$"}}]},
        {"label": BILLING_PERIOD, "pattern": [{"TEXT": {"REGEX": r"^(0?[1-9]|1[0-2])/(19|20)\d{2}$"}}]},
        # October, Oct 2026, October of 2026
        {"label": BILLING_PERIOD, "pattern": [{"LOWER": {"IN": MONTHS}}, {"LOWER": "of", "OP": "?"}, {**year, "OP": "?"}]},
        {"label": BILLING_PERIOD, "pattern": [{"LOWER": "may"}, year]},
        {"label": BILLING_PERIOD, "pattern": [{"LOWER": {"IN": PREPOSITIONS}}, {"LOWER": "may"}]},
        # last month, this month, previous month's
        {"label": BILLING_PERIOD, "pattern": [{"LOWER": {"IN": RELATIVE}}, {"LOWER": {"IN": ["month", "month's", "months"]}}]},
        # CNY 4,500.00, RMB 300, ¥4500
        {"label": AMOUNT, "pattern": [{"LOWER": {"IN": CURRENCY_WORDS}}, {"TEXT": {"REGEX": NUMBER}}]},
        # 4,500.00 CNY, 4500 yuan
        {"label": AMOUNT, "pattern": [{"TEXT": {"REGEX": NUMBER}}, {"LOWER": {"IN": CURRENCY_WORDS}}]},
        # a bare amount with cents or thousands separators: 4,500.00, 1495.50
        {"label": AMOUNT, "pattern": [{"TEXT": {"REGEX": r"^\d{1,3}(,\d{3})+(\.\d{2})?$|^\d+\.\d{2}$"}}]},
    ]
