"""Fapiao news pushed into the customer's open chat by the worker, and announced there once."""
from rasa_sdk import Tracker
from sqlalchemy import select

from actions.fapiao import ActionAnnounceFapiaoNews
from bot.config import load_escalation_settings
from bot.db import session_scope
from bot.escalation.worker import Worker
from bot.fapiao import news
from bot.fapiao.models import FapiaoNotice
from bot.identity import issue_push_token
from tests.conftest import make_tracker, run_action, texts
from tests.fapiao.helpers import CONTOSO, NUMBER_2026, file, issue

CONVERSATION = "widget-c-contoso-demo"


def notice_id() -> int:
    with session_scope() as session:
        return session.scalar(select(FapiaoNotice.id))


async def announce(tracker):
    return await run_action(ActionAnnounceFapiaoNews(), tracker)


def pushed_tracker(notice: int, token: str | None, customer_token: str) -> Tracker:
    base = make_tracker("", intent="EXTERNAL_fapiao_news", token=customer_token, channel="widget")
    state = base.current_state()
    state["sender_id"] = CONVERSATION
    # The push itself carries no sign-in: the customer who last wrote here is the reader.
    state["latest_message"] = {"text": "", "intent": {"name": "EXTERNAL_fapiao_news"}, "metadata": {},
                               "entities": [{"entity": "fapiao_notice", "value": str(notice)},
                                            *([{"entity": "push_token", "value": token}] if token else [])]}
    return Tracker.from_dict(state)


def test_issued_news_waits_for_the_worker_and_a_failed_push_is_tried_later(db_url):
    filed = file(conversation_id=CONVERSATION)
    issue(filed.request.reference)
    with session_scope() as session:
        due = news.notices_to_push(session, max_attempts=3, limit=10)
    assert [(n.customer_id, n.conversation_id) for n in due] == [(CONTOSO, CONVERSATION)]
    tries = []
    worker = Worker(settings=load_escalation_settings(), push_fapiao=lambda n: tries.append(n.id) or False,
                    database_url=db_url)
    assert worker.push_fapiao_news() == (0, 1)
    assert worker.push_fapiao_news() == (0, 0)  # not due again until its backoff has passed
    with session_scope() as session:
        assert session.scalar(select(FapiaoNotice.push_attempts)) == 1
    worker.close()


async def test_a_pushed_notice_is_announced_once_and_only_with_our_token(db_url, token_for):
    filed = file(conversation_id=CONVERSATION)
    issue(filed.request.reference)
    notice = notice_id()
    forged, _ = await announce(pushed_tracker(notice, "not-a-token", token_for(CONTOSO)))
    assert forged == []
    token = issue_push_token(CONVERSATION, news.push_reference(notice))
    told, _ = await announce(pushed_tracker(notice, token, token_for(CONTOSO)))
    assert NUMBER_2026 in texts(told) and filed.request.reference in texts(told)
    again, _ = await announce(pushed_tracker(notice, token, token_for(CONTOSO)))
    assert again == []  # shown: a retried push says nothing
    with session_scope() as session:
        assert news.pending_news(session, CONTOSO) == []


async def test_news_is_not_pushed_to_someone_else_signed_in_there(db_url, token_for):
    filed = file(conversation_id=CONVERSATION)
    issue(filed.request.reference)
    notice = notice_id()
    token = issue_push_token(CONVERSATION, news.push_reference(notice))
    told, _ = await announce(pushed_tracker(notice, token, token_for("C-1003")))
    assert told == []
    with session_scope() as session:
        assert len(news.pending_news(session, CONTOSO)) == 1  # kept for Contoso's own next turn
