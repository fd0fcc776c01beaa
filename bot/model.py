"""Which trained model belongs to the current training inputs.

A model is named after a fingerprint of everything that shapes it (data/, config.yml,
domain.yml, the spaCy patterns and the code of our own NLU components), so "train only when
something changed" is a file lookup.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from bot.config import REPO_ROOT

MODELS_DIR = REPO_ROOT / "models"


def training_inputs(root: Path = REPO_ROOT) -> list[Path]:
    files = sorted((root / "data").rglob("*.yml")) + [root / "config.yml", root / "domain.yml",
                                                       root / "bot" / "nlp" / "patterns.py",
                                                       root / "bot" / "nlp" / "tokenizer.py",
                                                       root / "bot" / "nlp" / "intent_blend.py",
                                                       root / "bot" / "nlp" / "zh" / "billing_dict.txt"]
    return [f for f in files if f.is_file()]


def fingerprint(root: Path = REPO_ROOT) -> str:
    digest = hashlib.sha256()
    for path in training_inputs(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_name(root: Path = REPO_ROOT) -> str:
    return f"billing-{fingerprint(root)}"


def model_path(root: Path = REPO_ROOT) -> Path:
    return root / "models" / f"{model_name(root)}.tar.gz"
