"""Which language a message is written in, as far as the assistant can answer it today.

Only English is understood for now; a message mostly in Chinese gets a short reply in both
languages instead of a wrong English answer. Mixed text ("Azure 订阅被暂停了", "G000100002 这张
发票为什么多了") counts as Chinese when it has at least as many Chinese characters as Latin letters.
"""
from __future__ import annotations

import re

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")


def mostly_chinese(text: str) -> bool:
    han = len(_HAN.findall(text))
    return han >= 2 and han >= len(_LATIN_LETTER.findall(text))
