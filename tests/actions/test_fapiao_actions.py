"""The fapiao form as the action server runs it, against the seeded database: in Chinese (the
language the request is asked in) and English."""
from rasa_sdk.executor import CollectingDispatcher

from actions.fapiao import (ActionAskFapiaoConfirmed, ActionAskFapiaoType, ActionShowFapiaoStatus, ActionSubmitFapiao,
                            ValidateFapiaoForm)
from actions.invoices import ActionShowBalance
from bot.db import session_scope
from bot.fapiao import staff
from tests.conftest import TODAY, make_tracker, run_action, texts

DOMAIN = {"forms": {"fapiao_form": {"required_slots": ["fapiao_type", "fapiao_invoice", "fapiao_confirmed"]}},
          "slots": {}}
CHINESE = {"locale": "zh-CN"}


async def validate(tracker):
    dispatcher = CollectingDispatcher()
    events = await ValidateFapiaoForm().run(dispatcher, tracker, DOMAIN)
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def tracker(text, token, intent="inform", slots=None, metadata=None):
    made = make_tracker(text, intent=intent, token=token, slots=slots or {})
    made.latest_message["metadata"].update(metadata or {})
    return made


async def test_a_special_fapiao_is_prefilled_from_the_registered_tax_facts_and_filed_once(token_for):
    token = token_for("C-1001")
    _, slots = await validate(tracker("帮我开专票", token, intent="request_fapiao", metadata=CHINESE))
    assert slots["fapiao_type"] == "special"
    filled = {"fapiao_type": "special", "fapiao_invoice": "G000100001"}
    summary = texts((await run_action(ActionAskFapiaoConfirmed(), tracker("", token, slots=filled,
                                                                           metadata=CHINESE)))[0])
    for fact in ("康托索（上海）科技有限公司", "91310000MA1FL0B106", "招商银行上海分行营业部", "finance@contoso.example",
                 "增值税专用发票", "G000100001"):
        assert fact in summary, summary
    confirmed = {**filled, "fapiao_confirmed": True}
    filed = texts((await run_action(ActionSubmitFapiao(), tracker("是的", token, slots=confirmed, metadata=CHINESE)))[0])
    reference = next(word for word in filed.replace("：", " ").split() if word.startswith("FP-"))
    again = texts((await run_action(ActionSubmitFapiao(), tracker("是的", token, slots=confirmed, metadata=CHINESE)))[0])
    assert "已经" in again and reference in again  # the first one's reference, nothing new


async def test_a_declined_summary_files_nothing(token_for):
    token = token_for("C-1001")
    slots = {"fapiao_type": "ordinary", "fapiao_invoice": "G000100001", "fapiao_confirmed": False}
    said = texts((await run_action(ActionSubmitFapiao(), tracker("no", token, slots=slots)))[0])
    assert "haven't sent anything" in said
    status = texts((await run_action(ActionShowFapiaoStatus(), tracker("status", token)))[0])
    assert "haven't asked for any fapiao" in status


async def test_special_is_explained_away_for_a_small_scale_taxpayer(token_for):
    token = token_for("C-1004")  # Tailspin: small-scale, with a paid invoice
    messages, slots = await validate(tracker("I need a special VAT fapiao", token, intent="request_fapiao"))
    assert slots.get("fapiao_type") is None
    assert "only for general VAT taxpayers" in texts(messages) and "small-scale" in texts(messages)
    asked = texts((await run_action(ActionAskFapiaoType(), tracker("", token)))[0])
    assert "ordinary" in asked and "Special" not in asked


async def test_a_mistyped_tax_id_is_explained_and_not_kept(token_for):
    token = token_for("C-1001")
    slots = {"fapiao_type": "ordinary", "fapiao_invoice": "G000100001", "requested_slot": "fapiao_confirmed"}
    messages, kept = await validate(tracker("税号是91310000MA1FL0B107", token, slots=slots, metadata=CHINESE))
    assert "校验码" in texts(messages) and "fapiao_tax_id" not in kept
    messages, kept = await validate(tracker("the tax id is 9131000MA1FL0B106", token, slots=slots))
    assert "18 characters" in texts(messages)
    messages, kept = await validate(tracker("use finance-team@contoso.example please", token, slots=slots))
    assert kept["fapiao_email"] == "finance-team@contoso.example"


async def test_an_unpaid_invoice_gets_no_fapiao(token_for):
    token = token_for("C-1001")
    slots = {"fapiao_type": "ordinary", "requested_slot": "fapiao_invoice"}
    messages, kept = await validate(tracker("G000100002", token, slots=slots))
    assert kept["fapiao_invoice"] is None and "isn't paid yet" in texts(messages)


async def test_status_then_the_news_that_it_was_issued_told_once(token_for):
    token = token_for("C-1003")
    slots = {"fapiao_type": "ordinary", "fapiao_invoice": "G000300001", "fapiao_confirmed": True}
    filed = texts((await run_action(ActionSubmitFapiao(), tracker("yes", token, slots=slots)))[0])
    reference = next(word.strip(":,.") for word in filed.split() if word.startswith("FP-"))
    status = texts((await run_action(ActionShowFapiaoStatus(), tracker("status", token)))[0])
    assert reference in status and "with Lakeshore" in status
    with session_scope() as session:
        staff.issue_request(session, reference, "P-01", number="26310000000000012345", staff_name="Mei Chen",
                            today=TODAY)
    first = texts((await run_action(ActionShowBalance(), tracker("balance", token, intent="ask_balance")))[0])
    assert "has been issued: number 26310000000000012345" in first
    second = texts((await run_action(ActionShowBalance(), tracker("balance", token, intent="ask_balance")))[0])
    assert "has been issued" not in second
    status = texts((await run_action(ActionShowFapiaoStatus(), tracker("status", token)))[0])
    assert "issued on" in status and "26310000000000012345" in status
