"""Issue 11's proof, short: a fuzz run through REST finds no 5xx, no empty reply, no crash and no
leak (the full run is scripts/fuzz.sh)."""
from __future__ import annotations

import importlib.util
import sys

import pytest

from bot.config import REPO_ROOT
from bot.replies import render
from tests.conftest import TEST_SECRET

pytestmark = pytest.mark.e2e


def _load_fuzz():
    # scripts/ is not a package; registered before running so its dataclasses resolve their module.
    spec = importlib.util.spec_from_file_location("fuzz", REPO_ROOT / "scripts" / "fuzz.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fuzz", module)
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzz()


@pytest.fixture(autouse=True)
def signed_like_the_stack(monkeypatch):
    monkeypatch.setenv("BOT_TOKEN_SECRET", TEST_SECRET)


def test_the_leak_detector_fires_on_a_leaking_reply(stack):
    detector = fuzz.LeakDetector.from_database(stack.env["BOT_DATABASE_URL"])
    fabrikam = "Fabrikam Inc owes CNY 24,380.00 on invoices G000200001 and G000200002."
    assert {m for m, _ in detector.leaks("C-1001", ["what is my balance?"], fabrikam)} == {
        "Fabrikam", "24,380.00", "G000200001", "G000200002"}
    assert detector.leaks("C-1002", ["what is my balance?"], fabrikam) == []  # their own
    assert detector.leaks(fuzz.STAFF, ["what does Fabrikam owe?"], fabrikam) == []  # their partner's customer
    assert detector.leaks(fuzz.ANON, ["hi"], "Your balance is CNY 9,615.50.") == [("9,615.50", "C-1001")]
    # What the user typed may come back: not a leak.
    assert detector.leaks("C-1001", ["show me invoice g000 200 001"], "I couldn't find invoice G000200001.") == []
    assert detector.leaks("C-1003", ["did you pay 12400?"], "I found no payment of CNY 12,400.00.") == []
    # ...but only what was typed.
    assert detector.leaks("C-1003", ["did you pay 12400?"], "No: CNY 12,400.00 is G000200001's total.") == [
        ("G000200001", "C-1002")]
    # The same help text for everyone, with its example invoice number.
    capabilities = render("capabilities", "en").text
    assert "G000100002" in capabilities and detector.leaks(fuzz.ANON, ["help"], capabilities) == []
    assert detector.leaks(fuzz.ANON, ["help"], capabilities + " Yours is G000100002.") == [("G000100002", "C-1001")]


def test_a_short_fuzz_run_finds_no_5xx_silence_crash_or_leak(stack):
    # No filing: a dispute filed here would stay in the session's stack for the other tests.
    report = fuzz.run_fuzz(stack, requests_count=250, seed=11, request_timeout=20, max_seconds=75, filing=False)
    print(report.table())
    assert len(report.outcomes) >= 150, "too few requests ran"
    assert report.server_errors == 0, report.problems["5xx"]
    assert report.empty_replies == 0, report.problems["empty replies"]
    assert report.connection_errors == 0, report.problems["connection errors"]
    assert report.leak_count == 0, report.leaks
    assert report.checked["customers"] and report.checked["anonymous"], "the leak check saw no replies"
    assert report.rasa_same_process and not any(report.restarts().values())
    assert report.crash_suspects == [] and report.aborted is None, report.crash_suspects
