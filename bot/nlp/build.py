"""Build the spaCy pipeline Rasa's SpacyNLP loads: blank English plus an entity ruler.

No pretrained model can be downloaded here, and none is needed: intents are learned by DIET
from Rasa's own featurizers; spaCy supplies tokenisation and rule-based billing entities.
Run `python -m bot.nlp.build`; it rebuilds only when the patterns changed.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from bot.config import SPACY_PIPELINE_DIR
from bot.nlp.patterns import patterns

PIPELINE_NAME = "billing_en"
PIPELINE_VERSION = "1.0.0"


def _fingerprint() -> str:
    return hashlib.sha256(json.dumps([PIPELINE_VERSION, patterns()], sort_keys=True).encode()).hexdigest()


def build(target: Path = SPACY_PIPELINE_DIR, force: bool = False) -> bool:
    """Write the pipeline to `target`; return False when it was already up to date."""
    stamp = target / "patterns.sha256"
    if not force and stamp.exists() and stamp.read_text() == _fingerprint():
        return False
    import spacy  # imported here: loading spaCy is slow, and only building needs it

    nlp = spacy.blank("en")
    nlp.meta.update({"name": PIPELINE_NAME, "version": PIPELINE_VERSION,
                     "description": "Blank English with an entity ruler for billing identifiers"})
    ruler = nlp.add_pipe("entity_ruler", config={"overwrite_ents": True})
    ruler.add_patterns(patterns())
    nlp.to_disk(target)
    stamp.write_text(_fingerprint())
    return True


if __name__ == "__main__":
    built = build(force="--force" in sys.argv)
    print(f"spaCy pipeline {'built' if built else 'up to date'} at {SPACY_PIPELINE_DIR}")
