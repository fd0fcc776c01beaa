"""One tokenizer for English and Chinese, and for both in one message ("G000100002这张发票").

Chinese runs are segmented by jieba, with the billing words of `bot/nlp/zh/billing_dict.txt`
(订阅, 发票, 余额, 预留实例...); everything else is split into words the way English is written.
jieba alone returns whitespace and punctuation as tokens in mixed text (Rasa issue 7910) and
splits identifiers glued to Chinese; here identifiers and words keep their own shape.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

BILLING_DICTIONARY = Path(__file__).resolve().parent / "zh" / "billing_dict.txt"
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PIECES = re.compile(
    rf"(?P<cjk>[{_CJK}]+)"  # a Chinese run: segmented by jieba
    r"|(?P<word>[A-Za-z0-9]+(?:['\u2019.,\-][A-Za-z0-9]+)*)"  # don't, 4,500.00, G000100002, ESC-7K2Q
    r"|(?P<symbol>[¥$€%#])"  # kept: "¥4,500" and "#G000100002" mean something
)


@lru_cache(maxsize=1)
def segmenter() -> Any:
    """A jieba tokenizer of our own (jieba's global one is shared with anything else in the process)."""
    import jieba

    jieba.setLogLevel(60)  # its "Building prefix dict" chatter goes to stderr otherwise
    tokenizer = jieba.Tokenizer()
    tokenizer.load_userdict(str(BILLING_DICTIONARY))
    return tokenizer


def split_words(text: str) -> list[tuple[str, int]]:
    """(word, offset) pairs of a text in English, Chinese or both."""
    words: list[tuple[str, int]] = []
    for piece in _PIECES.finditer(text):
        if piece.lastgroup == "cjk":
            words += [(word, piece.start() + start) for word, start, _ in segmenter().tokenize(piece.group())
                      if word.strip()]
        else:
            words.append((piece.group(), piece.start()))
    return words


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class BilingualTokenizer(Tokenizer):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent_tokenization_flag": False, "intent_split_symbol": "_", "token_pattern": None,
                "prefix_separator_symbol": None}

    @staticmethod
    def supported_languages() -> Optional[List[Text]]:
        return None  # any: English and Chinese are what it is for

    @staticmethod
    def required_packages() -> List[Text]:
        return ["jieba"]

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "BilingualTokenizer":
        return cls(config)

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        tokens = [Token(word, start) for word, start in split_words(message.get(attribute) or "")]
        return self._apply_token_pattern(tokens)
