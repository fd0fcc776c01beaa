"""Chinese periods, pointing back, complaints and charge names; the bilingual tokenizer; which
language a message is in."""
from datetime import date

import pytest

from bot.nlp import chinese, words
from bot.nlp.language import detect_language
from bot.nlp.tokenizer import split_words

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize("text, expected", [
    ("上个月的账单多少钱", ["2026-10"]),
    ("上月份账单", ["2026-10"]),
    ("这个月的账单", ["2026-11"]),
    ("本月", ["2026-11"]),
    ("十月的账单", ["2026-10"]),
    ("10月份的账单", ["2026-10"]),
    ("十二月的账单", ["2025-12"]),  # a month not yet started this year is last year's
    ("十一月", ["2026-11"]),
    ("2026年9月的账单", ["2026-09"]),
    ("前两个月的账单", ["2026-09"]),
    ("上上个月", ["2026-09"]),
    ("去年十月", ["2025-10"]),
    ("这个月比上个月多了多少", ["2026-11", "2026-10"]),  # in the order written
    ("帮我看看余额", []),
])
def test_periods_in_chinese(text, expected):
    assert chinese.periods(text, TODAY) == expected


def test_questions_about_the_conversation_in_either_language():
    assert words.refers_back("这张什么时候到期？") and words.refers_back("when was that due?")
    assert not words.refers_back("所有账单都付了吗")
    assert words.months_from_focus("上一张呢") == -1 and words.months_from_focus("the previous one") == -1
    assert words.asks_for_all_invoices("我所有的账单") and words.asks_for_all_invoices("list my invoices")
    assert words.says_not_solved("还是没解决") and words.says_not_solved("it's still on my bill")
    assert not words.says_not_solved("已经好了，谢谢")
    assert words.compares("和九月相比为什么多了") and not words.compares("看一下九月的账单")
    assert words.special_complaint("这张我已经付过了") == "already_paid"
    assert words.special_complaint("被扣了两次") == "charged_twice"
    assert words.says_what_is_wrong("我们没有订过这个") and not words.says_what_is_wrong("账单多少钱")


def test_charges_named_in_chinese_are_the_lines_of_the_invoice():
    lines = ["Virtual machines", "Storage", "Bandwidth"]
    assert words.mentioned_charge("带宽这项是什么费用", lines) == "Bandwidth"
    assert words.mentioned_charge("what is the bandwidth charge", lines) == "Bandwidth"
    assert words.mentioned_charge("预留实例是什么", lines) is None  # not on this invoice


def test_the_tokenizer_segments_chinese_and_keeps_identifiers_and_words_whole():
    assert [w for w, _ in split_words("G000100002这张发票为什么多了？")] == \
        ["G000100002", "这张", "发票", "为什么", "多", "了"]
    assert [w for w, _ in split_words("Azure 订阅被暂停了")] == ["Azure", "订阅", "被", "暂停", "了"]
    assert [w for w, _ in split_words("what's my balance, don't know")] == \
        ["what's", "my", "balance", "don't", "know"]
    # No whitespace or punctuation tokens (Rasa issue 7910), and offsets point into the text.
    text = "我们 上个月的帐单，¥4,500 对吗?"
    for word, start in split_words(text):
        assert word.strip() and text[start:start + len(word)] == word
    assert "预留实例" in [w for w, _ in split_words("预留实例怎么收费")]  # the billing dictionary


@pytest.mark.parametrize("text, language", [
    ("账单多少钱", "zh"), ("Azure 订阅被暂停了", "zh"), ("G000100002 这张发票为什么多了", "zh"),
    ("what is my balance", "en"), ("hi", "en"), ("G000100002", None), ("12345", None), ("", None),
])
def test_the_language_a_message_is_written_in(text, language):
    assert detect_language(text) == language
