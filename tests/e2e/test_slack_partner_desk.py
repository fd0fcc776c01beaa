"""The partner desk's day in Slack, end to end: signed events to the real Rasa server, replies
as the Slack stand-in received them, subscription changes as the Partner Center stand-in got them."""
from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import VIANET_PORT
from tests.e2e.slack_stand_in import all_text, click, posted, say, wait_for_posts
from tests.e2e.test_partner_desk_rest import wait_for
from tests.partner.helpers import PartnerCenterAdmin

pytestmark = pytest.mark.e2e
MEI_DM, LI_DM, STRANGER_DM = "D0MEICHEN", "D0LIWEI", "D0STRANGER"


@pytest.fixture()
def slack(stack, slack_stand_in):
    return stack


def turn(stack, user: str, dm: str, text: str, expect: str) -> str:
    """Say `text` in the user's DM; the bot's posts there until one contains `expect`."""
    before = len(posted(dm))
    assert say(stack, user, text).status_code == 200
    return all_text(wait_for_posts(dm, before, until=lambda new: expect in all_text(new)))


def button(stack, user: str, dm: str, value: str, expect: str) -> str:
    before = len(posted(dm))
    assert click(stack, user, value, channel=dm, message_ts=posted(dm)[-1]["ts"]).status_code == 200
    return all_text(wait_for_posts(dm, before, until=lambda new: expect in all_text(new)))


def test_an_admin_lists_reactivates_suspends_asks_what_is_owed_and_who_did_it(slack, fabrikam_restored):
    partner_center = PartnerCenterAdmin(f"http://127.0.0.1:{VIANET_PORT}")
    changes = partner_center.subscription("C-1002")["status_changes"]
    overdue = turn(slack, "U0MEICHEN", MEI_DM, "which customers are overdue?", "overdue")
    assert "Fabrikam Inc (C-1002): CNY 24,380.00 overdue on G000200001 and G000200002" in overdue

    assert "still has CNY 24,380.00 overdue" in turn(slack, "U0MEICHEN", MEI_DM, "reactivate fabrikam", "overdue")
    confirm = turn(slack, "U0MEICHEN", MEI_DM, "they paid by wire this morning", "Reactivate")
    assert "Reactivate Fabrikam Inc (C-1002)'s Azure plan?" in confirm
    assert "Recorded as SC-" in button(slack, "U0MEICHEN", MEI_DM, "/affirm", "Recorded")
    assert wait_for(lambda: partner_center.subscription("C-1002")["status"] == "active")

    confirm = turn(slack, "U0MEICHEN", MEI_DM, "suspend Fabrikam for non-payment", "Suspend")
    assert "Suspend Fabrikam Inc (C-1002)'s Azure plan?" in confirm
    assert "Recorded as SC-" in button(slack, "U0MEICHEN", MEI_DM, "/affirm", "Recorded")
    assert wait_for(lambda: partner_center.subscription("C-1002")["status"] == "suspended")
    time.sleep(2)
    assert partner_center.subscription("C-1002")["status_changes"] == changes + 2  # each reached it once

    owed = turn(slack, "U0MEICHEN", MEI_DM, "how much do we owe 21Vianet?", "21Vianet")
    assert "Lakeshore Cloud Partners owes 21Vianet CNY 48,200.00" in owed and "PV-2026-10" in owed
    log = turn(slack, "U0MEICHEN", MEI_DM, "who suspended Fabrikam?", "Fabrikam")
    assert "Mei Chen asked to suspend Fabrikam Inc" in log and "Partner Center suspended Fabrikam Inc" in log


def test_read_only_staff_are_refused_a_suspension_in_their_language(slack):
    refused = turn(slack, "U0LIWEI", LI_DM, "suspend Contoso", "只读")
    assert "您的角色是只读" in refused and "Mei Chen" in refused and "SC-" not in refused


def test_someone_not_in_the_directory_sees_nothing(slack):
    answer = turn(slack, "U0STRANGER", STRANGER_DM, "which customers are overdue?", "admin")
    assert "staff directory" in answer and "Fabrikam" not in answer and "CNY" not in answer
