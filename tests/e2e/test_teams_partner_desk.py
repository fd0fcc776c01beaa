"""The partner desk's day in Microsoft Teams, end to end: activities signed by the Bot Framework
stand-in to the real Rasa server, replies as its connector received them, subscription changes as
the Partner Center stand-in got them."""
from __future__ import annotations

import time

import pytest

from bot.integrations.botframework import PAYLOAD_KEY
from tests.e2e.conftest import VIANET_PORT
from tests.e2e.test_partner_desk_rest import wait_for
from tests.e2e.teams_stand_in import LI, MEI, STRANGER, message, replies_to, send
from tests.partner.helpers import PartnerCenterAdmin

pytestmark = pytest.mark.e2e


def said(activities: list[dict]) -> str:
    """What a person reads: each activity's text and its Adaptive Card's text blocks and facts."""
    parts = []
    for activity in activities:
        parts.append(activity.get("text") or "")
        for attachment in activity.get("attachments") or []:
            parts += _card_text(attachment.get("content") or {})
    return "\n".join(parts)


def _card_text(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "TextBlock" else []
        found += [f"{f['title']}: {f['value']}" for f in node.get("facts", [])]
        return found + [t for v in node.values() for t in _card_text(v)]
    if isinstance(node, list):
        return [t for v in node for t in _card_text(v)]
    return []


def turn(teams, person, text: str, locale: str = "en-US") -> str:
    activity = message(person, text, locale=locale)
    assert send(teams, activity).status_code == 200
    return said(replies_to(activity))


def press(teams, person, payload: str) -> str:
    activity = message(person, "", value={PAYLOAD_KEY: payload})
    assert send(teams, activity).status_code == 200
    return said(replies_to(activity))


def test_an_admin_lists_reactivates_suspends_asks_what_is_owed_and_who_did_it(stack, teams, fabrikam_restored):
    partner_center = PartnerCenterAdmin(f"http://127.0.0.1:{VIANET_PORT}")
    changes = partner_center.subscription("C-1002")["status_changes"]
    overdue = turn(teams, MEI, "which customers are overdue?")
    assert "Fabrikam Inc (C-1002): CNY 24,380.00 overdue on G000200001 and G000200002" in overdue

    assert "still has CNY 24,380.00 overdue" in turn(teams, MEI, "reactivate fabrikam")
    assert "Reactivate Fabrikam Inc (C-1002)'s Azure plan?" in turn(teams, MEI, "they paid by wire this morning")
    assert "Recorded as SC-" in press(teams, MEI, "/affirm")
    assert wait_for(lambda: partner_center.subscription("C-1002")["status"] == "active")

    assert "Suspend Fabrikam Inc (C-1002)'s Azure plan?" in turn(teams, MEI, "suspend Fabrikam for non-payment")
    assert "Recorded as SC-" in press(teams, MEI, "/affirm")
    assert wait_for(lambda: partner_center.subscription("C-1002")["status"] == "suspended")
    time.sleep(2)
    assert partner_center.subscription("C-1002")["status_changes"] == changes + 2  # each reached it once

    owed = turn(teams, MEI, "how much do we owe 21Vianet?")
    assert "Lakeshore Cloud Partners owes 21Vianet CNY 48,200.00" in owed and "PV-2026-10" in owed
    log = turn(teams, MEI, "who suspended Fabrikam?")
    assert "Mei Chen asked to suspend Fabrikam Inc" in log and "Partner Center suspended Fabrikam Inc" in log


def test_read_only_staff_are_refused_a_suspension_in_their_language(stack, teams):
    refused = turn(teams, LI, "暂停 Contoso 的订阅", locale="zh-CN")
    assert "您的角色是只读" in refused and "Mei Chen" in refused and "SC-" not in refused


def test_someone_not_in_the_directory_sees_nothing(stack, teams):
    answer = turn(teams, STRANGER, "which customers are overdue?")
    assert "staff directory" in answer and "Fabrikam" not in answer and "CNY" not in answer
