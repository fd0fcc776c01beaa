"""English words that point back in a conversation (bot/nlp/english.py)."""
import pytest

from bot.nlp.english import asks_for_all_invoices, months_from_focus, refers_back, says_not_solved


@pytest.mark.parametrize("text, expected", [
    ("and when was that due?", True), ("has it been paid?", True), ("when is the invoice due", True),
    ("when are my bills due?", False), ("what do I owe and when is it due?", False), ("is this month paid", False),
])
def test_refers_back(text, expected):
    assert refers_back(text) is expected


@pytest.mark.parametrize("text, step", [
    ("the previous one", -1), ("and the one before that?", -1), ("two months back", -2),
    ("three months earlier", -3), ("the month before last", -2), ("the next one", 1), ("and October?", None),
])
def test_months_from_focus(text, step):
    assert months_from_focus(text) == step


@pytest.mark.parametrize("text, expected", [
    ("show me every invoice I have", True), ("list my invoices", True), ("which invoices do I have", True),
    ("do I have any bills I have not paid?", False), ("show my latest invoice", False),
])
def test_asks_for_all_invoices(text, expected):
    assert asks_for_all_invoices(text) is expected


@pytest.mark.parametrize("text, expected", [
    ("the reserved instance charge is still on our bill", True), ("it isn't fixed", True),
    ("no it is still not fixed", True), ("nope", True), ("not yet", True),
    ("it's no longer a problem, everything is fixed", False), ("nothing wrong anymore, thanks", False),
    ("I still wanted to say thanks, it's fixed", False), ("all sorted, thank you", False),
])
def test_says_not_solved(text, expected):
    assert says_not_solved(text) is expected
