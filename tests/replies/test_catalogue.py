"""The reply layer: both languages say everything, with the same placeholders; every key the code
asks for exists; amounts and dates follow each language."""
from __future__ import annotations

import ast
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from bot.config import REPO_ROOT, load_settings
from bot.replies import Reply, render
from bot.replies.catalogue import MissingPhrase, Phrases, catalogue, placeholders
from bot.replies.language import LANGUAGES, conversation_language, language_of

CJK = re.compile(r"[\u4e00-\u9fff]")


def _texts(entry) -> list[str]:
    if isinstance(entry, dict) and "text" in entry:  # a reply: its text (maybe plural forms) and buttons
        return [*_texts(entry["text"]), *(b["title"] for b in entry.get("buttons", []))]
    if isinstance(entry, dict):
        return list(entry.values())
    return [entry]


def test_every_language_has_every_key_with_the_same_placeholders():
    english = catalogue("en")
    for language in LANGUAGES:
        other = catalogue(language)
        assert set(other) == set(english), f"{language}: {sorted(set(other) ^ set(english))}"
        for key, entry in english.items():
            wanted = set().union(*(placeholders(t) for t in _texts(entry))) - {"count"}
            found = set().union(*(placeholders(t) for t in _texts(other[key]))) - {"count"}
            assert found == wanted, f"{language}: {key} has {found}, English has {wanted}"


def test_chinese_replies_are_in_chinese():
    chinese = catalogue("zh")
    def english_words(text: str) -> list[str]:  # outside placeholders, product names and examples
        return re.findall(r"[A-Za-z]{3,}", re.sub(r"\{[^{}]*\}", "", text))

    untranslated = [key for key, entry in chinese.items()
                    if any(english_words(str(t)) and not CJK.search(str(t)) for t in _texts(entry))]
    assert untranslated == []


def test_buttons_keep_their_payloads_in_every_language():
    for key, entry in catalogue("en").items():
        if isinstance(entry, dict) and "buttons" in entry:
            payloads = [b["payload"] for b in entry["buttons"]]
            assert [b["payload"] for b in catalogue("zh")[key]["buttons"]] == payloads


def test_every_response_the_dialogue_predicts_has_a_phrase():
    domain = yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8"))
    for name in domain["responses"]:
        for language in LANGUAGES:
            assert name[len("utter_"):] in catalogue(language), f"{name} has no {language} phrase"


def _asked_keys() -> set[str]:
    """Every literal key the code asks the reply layer for: say("..."), reply("..."), render("..."),
    buttons("...") and response="utter_..."."""
    keys: set[str] = set()
    for path in [*(REPO_ROOT / "actions").rglob("*.py"), *(REPO_ROOT / "bot").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            literal = [a.value for a in node.args[:1] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if name in ("say", "buttons", "render") and literal:
                keys.add(literal[0])
            for kw in node.keywords:
                if kw.arg == "response" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    keys.add(kw.value.value[len("utter_"):])
                if kw.arg == "response" and isinstance(kw.value, ast.IfExp):
                    keys |= {v.value[len("utter_"):] for v in (kw.value.body, kw.value.orelse)
                             if isinstance(v, ast.Constant)}
    return keys


def test_every_key_the_code_asks_for_exists():
    asked = _asked_keys()
    assert len(asked) > 100  # the scan really finds the calls
    missing = sorted(key for key in asked if key not in catalogue("en"))
    assert missing == []


def test_amounts_dates_and_months_follow_the_language(monkeypatch):
    monkeypatch.setenv("BOT_LOCALE", "en_US")
    en, zh = Phrases("en", load_settings()), Phrases("zh", load_settings())
    assert en.money(Decimal("9615.50"), "CNY") == "CNY 9,615.50"
    assert zh.money(Decimal("9615.50"), "CNY") == "CNY 9,615.50"
    assert en.day(date(2026, 11, 30)) == "November 30, 2026" and zh.day(date(2026, 11, 30)) == "2026年11月30日"
    assert en.month("2026-10") == "October 2026" and zh.month("2026-10") == "2026年10月"
    assert en.listing(["a", "b", "c"]) == "a, b, and c" and zh.listing(["a", "b", "c"]) == "a、b和c"
    monkeypatch.setenv("BOT_CURRENCY_DISPLAY", "symbol")
    assert Phrases("zh", load_settings()).money(Decimal("9615.50"), "CNY") == "¥9,615.50"


def test_plural_forms_follow_the_count():
    en = Phrases("en")
    assert en.say("due.days", count=1) == "1 day" and en.say("due.days", count=3) == "3 days"
    assert Phrases("zh").say("due.days", count=3) == "3 天"
    with pytest.raises(MissingPhrase):
        en.say("due.days")  # plural forms need a count
    with pytest.raises(MissingPhrase):
        en.say("no_invoice_for_period")  # a placeholder without its value


def test_a_reply_is_structured_and_plain():
    reply = Reply("x", "en", "Head:", items=(), footer="Foot", buttons=({"title": "Go", "payload": "/go"},))
    message = reply.message()
    assert message["text"] == "Head:\nFoot" and message["buttons"] == [{"title": "Go", "payload": "/go"}]
    assert message["custom"]["reply"] == {"key": "x", "locale": "en", "text": "Head:", "items": [], "footer": "Foot"}
    solved = render("ask_resolution_solved", "zh")
    assert CJK.search(solved.text) and [b["payload"] for b in solved.buttons] == ["/affirm", "/deny"]


def test_the_conversation_keeps_its_language_until_the_user_changes_it(monkeypatch):
    monkeypatch.setenv("BOT_LOCALE", "en_US")
    settings = load_settings()
    assert language_of("zh-CN") == language_of("zh_Hans_CN") == language_of("ZH") == "zh"
    assert language_of("en-GB") == "en" and language_of("fr") is None and language_of("<script>") is None
    # The first message: the locale the user chose, else the language it is written in, else BOT_LOCALE.
    assert conversation_language({"locale": "zh-CN", "detected_language": "en"}, None, settings) == "zh"
    assert conversation_language({"detected_language": "zh"}, None, settings) == "zh"
    assert conversation_language(None, None, settings) == "en"
    # Later messages keep it, whatever they are written in ("ok", "G000100002", an English product name)...
    assert conversation_language({"detected_language": "en"}, "zh", settings, previous_metadata={}) == "zh"
    assert conversation_language({"locale": "en"}, "zh", settings, previous_metadata={"locale": "en"}) == "zh"
    # ...until the page (or app) is switched to the other language.
    assert conversation_language({"locale": "en"}, "zh", settings, previous_metadata={"locale": "zh"}) == "en"
    monkeypatch.setenv("BOT_LOCALE", "zh_Hans_CN")
    assert conversation_language(None, None, load_settings()) == "zh"


def test_no_sentence_is_written_outside_the_reply_layer():
    """Actions and the domain hand facts to bot/replies; an English sentence in their string
    literals is wording that escaped it."""
    sentence = re.compile(r"[A-Z][a-z']+(?: [a-z',]+){3,}[.?!]")
    escaped = []
    for folder in ("actions", "bot/billing", "bot/escalation", "bot/channels"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                          if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                          and n.body and isinstance(n.body[0], ast.Expr)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings \
                        and sentence.search(node.value):
                    escaped.append(f"{path.relative_to(REPO_ROOT)}: {node.value[:60]}")
    assert escaped == [], "\n".join(escaped)
