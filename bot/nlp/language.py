"""Which language a message is written in: English, Chinese, or not decisive ("G000100002", "ok").

lingua (restricted to the two languages the assistant speaks) decides; it is built for short and
mixed text, so "Azure 订阅被暂停了" and "G000100002 这张发票为什么多了" are Chinese and "hi" is
English. A message without letters decides nothing: the conversation keeps its language.
"""
from __future__ import annotations

import re
from functools import lru_cache

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_IDENTIFIERS = re.compile(r"\b[A-Za-z]{1,4}[-#:]?\d[\w-]*\b")  # G000100002, ESC-7K2Q: no language


def mostly_chinese(text: str) -> bool:
    han = len(_HAN.findall(text))
    return han >= 2 and han >= len(_LATIN_LETTER.findall(text))


@lru_cache(maxsize=1)
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.CHINESE).build()


def detect_language(text: str) -> str | None:
    """"en", "zh", or None when the message says nothing about its language."""
    words = _IDENTIFIERS.sub(" ", text or "")
    if not _HAN.search(words) and len(_LATIN_LETTER.findall(words)) < 2:
        return None
    if mostly_chinese(words):
        return "zh"
    found = _detector().detect_language_of(words[:2000])
    return None if found is None else ("zh" if found.name == "CHINESE" else "en")
