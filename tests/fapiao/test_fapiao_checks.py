"""What people type for a fapiao, checked without a database: taxpayer id, title, email, fapiao number.

Why: a fapiao with a wrong taxpayer id or title cannot be used for the books, and a typo in the
unified social credit code must be caught by its check digit, not only by its shape.
"""
from __future__ import annotations

from datetime import date

import pytest
from stdnum.cn import uscc

from bot.fapiao.checks import check_email, check_fapiao_number, check_tax_id, check_title
from tests.fapiao.helpers import CONTOSO_REGISTERED_NAME, CONTOSO_TAX_ID, NUMBER_2026


@pytest.mark.parametrize("typed", [
    CONTOSO_TAX_ID,
    "91310000ma1fl0b106",  # lower case
    " 9131 0000 MA1F-L0B1 06 ",  # grouped as people read it out
    "９１３１００００ＭＡ１ＦＬ０Ｂ１０６",  # full-width, from a Chinese input method
])
def test_a_valid_tax_id_is_normalised(typed):
    assert check_tax_id(typed) == (CONTOSO_TAX_ID, None)


@pytest.mark.parametrize("typed, problem", [
    ("", "empty"),
    (None, "empty"),
    ("91310000MA1FL0B10", "wrong_length"),  # a character short
    ("91310000MA1FL0B1066", "wrong_length"),
    ("913100001234567", "wrong_length"),  # an old 15-digit tax registration number
    ("91310000MA1FLOB106", "bad_characters"),  # letter O for zero: the code never uses O
    ("9131000AMA1FL0B106", "bad_characters"),  # the region part is digits only
    ("税号91310000MA1FL0B106", "bad_characters"),  # words around the code
    ("91310000MA1FL0B107", "bad_check_digit"),  # the last character mistyped
    ("91310000MA1FL0B016", "bad_check_digit"),  # two characters swapped
])
def test_an_invalid_tax_id_says_what_is_wrong(typed, problem):
    assert check_tax_id(typed) == (None, problem)


def test_the_check_digit_comes_from_python_stdnum():
    body = CONTOSO_TAX_ID[:17]
    assert uscc.calc_check_digit(body) == CONTOSO_TAX_ID[17]
    for wrong in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        if wrong != CONTOSO_TAX_ID[17]:
            assert check_tax_id(body + wrong) == (None, "bad_check_digit")


@pytest.mark.parametrize("typed", [
    CONTOSO_REGISTERED_NAME,
    "康托索(上海)科技有限公司",  # half-width brackets
    " 康托索（上海） 科技有限公司 ",  # stray spaces
    "康托索（上海）科技有限公司".replace("（", "\uff08"),
])
def test_a_title_matching_the_registered_name_returns_it_exactly(typed):
    assert check_title(typed, CONTOSO_REGISTERED_NAME, "Contoso Ltd") == (CONTOSO_REGISTERED_NAME, None)


@pytest.mark.parametrize("typed, problem", [
    ("", "empty"),
    ("   ", "empty"),
    ("Contoso Ltd", "trading_name"),
    ("contoso  LTD", "trading_name"),
    ("康托索科技有限公司", "mismatch"),  # without the registered region
    ("罗斯文贸易（深圳）有限公司", "mismatch"),
])
def test_a_title_that_is_not_the_registered_name_is_refused(typed, problem):
    assert check_title(typed, CONTOSO_REGISTERED_NAME, "Contoso Ltd") == (None, problem)


@pytest.mark.parametrize("typed, expected", [
    ("finance@contoso.example", ("finance@contoso.example", None)),
    (" Finance@Contoso.EXAMPLE ", ("Finance@contoso.example", None)),
    ("ａｐ＠ｆａｂｒｉｋａｍ.ｅｘａｍｐｌｅ", ("ap@fabrikam.example", None)),  # full-width @ and letters
    ("", (None, "empty")),
    ("finance.contoso.example", (None, "invalid")),
    ("finance@contoso", (None, "invalid")),
    ("fin ance@contoso.example", (None, "invalid")),
    ("@contoso.example", (None, "invalid")),
    ("a@b@contoso.example", (None, "invalid")),
    ("finance@-contoso.example", (None, "invalid")),
])
def test_email_is_checked_simply(typed, expected):
    assert check_email(typed) == expected


def test_a_digital_fapiao_number_has_20_digits_starting_with_the_issue_year():
    issued = date(2026, 11, 26)
    assert check_fapiao_number(NUMBER_2026, "digital", issued) == (NUMBER_2026, None)
    assert check_fapiao_number("2631 1000 0000 1234 5678", "digital", issued) == (NUMBER_2026, None)
    assert check_fapiao_number("12345678", "digital", issued) == (None, "wrong_length")
    assert check_fapiao_number("25" + NUMBER_2026[2:], "digital", issued) == (None, "year_mismatch")
    assert check_fapiao_number("25" + NUMBER_2026[2:], "digital", date(2025, 12, 31))[1] is None
    assert check_fapiao_number("2631100000001234567X", "digital", issued) == (None, "not_digits")
    assert check_fapiao_number("２６３１１０００００００１２３４５６７８", "digital", issued) == (NUMBER_2026, None)
    assert check_fapiao_number("", "digital", issued) == (None, "empty")


def test_a_paper_fapiao_number_has_8_digits():
    assert check_fapiao_number("01234567", "paper") == ("01234567", None)
    assert check_fapiao_number(NUMBER_2026, "paper") == (None, "wrong_length")
    assert check_fapiao_number("٠١٢٣٤٥٦٧", "paper") == (None, "not_digits")  # Arabic-Indic digits are not ASCII


@pytest.mark.parametrize("typed, reference, number", [
    ("issue FP-7SW4X2 25311000000012345678", "FP-7SW4X2", "25311000000012345678"),  # a digit ends the reference
    ("FP 7K3M9Q 已开票，发票号 2631 1000 0000 1234 5678", "FP-7K3M9Q", "26311000000012345678"),
    ("ＦＰ－Ｋ８Ｊ７Ｈ６ 纸质发票已开，号码１２３４５６７８", "FP-K8J7H6", "12345678"),
    ("fp-h7k2mn done, no. 1234", "FP-H7K2MN", None),
    ("issue it", None, None),
])
def test_staff_name_a_request_and_its_fapiao_number_in_one_message(typed, reference, number):
    from bot.fapiao.checks import number_in, reference_in

    assert (reference_in(typed), number_in(typed)) == (reference, number)
