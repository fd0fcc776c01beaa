"""The Slack Web API client against the local stand-in over real HTTP, with its faults; and the
Block Kit renderer, checked against Slack's limits (which the stand-in enforces too)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from bot.config import SlackSettings
from bot.integrations.slack import SlackApiError, SlackClient
from bot.integrations.slack_blocks import slack_message
from bot.replies import Item, Reply
from devservers.slack.server import WORKSPACE, Workspace, build_app

TOKEN = "xoxb-test-client-token"


@dataclass
class StandIn:
    base: str
    workspace: Workspace


@pytest.fixture()
async def stand_in():
    app = build_app(TOKEN)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield StandIn(f"http://127.0.0.1:{runner.addresses[0][1]}", app[WORKSPACE])
    await runner.cleanup()


def _settings(base: str, token: str | None = TOKEN, timeout: float = 2.0) -> SlackSettings:
    return SlackSettings(signing_secret="unused", bot_token=token, api_url=f"{base}/api", replay_window_seconds=300,
                         timeout_seconds=timeout)


def _client(stand_in, **kwargs) -> SlackClient:
    return SlackClient(_settings(stand_in.base, **{k: v for k, v in kwargs.items() if k in ("token", "timeout")}),
                       backoff=0.01, **{k: v for k, v in kwargs.items() if k in ("attempts", "max_wait")})


async def _fault(stand_in, **fault) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{stand_in.base}/_admin/faults", json=fault) as answer:
            assert answer.status == 200


async def test_posts_a_message_in_a_thread_with_blocks(stand_in):
    async with _client(stand_in) as client:
        answer = await client.post_message("C0BILLING", "hello", thread_ts="1700000000.000100",
                                           blocks=[{"type": "section", "text": {"type": "plain_text", "text": "hello"}}])
    assert answer["ok"] and answer["channel"] == "C0BILLING" and answer["ts"]
    posted = stand_in.workspace.messages
    assert [(m["channel"], m["thread_ts"], m["text"]) for m in posted] == [("C0BILLING", "1700000000.000100", "hello")]


async def test_posting_to_a_user_reaches_their_dm(stand_in):
    async with _client(stand_in) as client:
        answer = await client.post_message("U0MEICHEN", "news")
    assert answer["channel"] == "D0MEICHEN"


async def test_users_info_gives_the_locale(stand_in):
    async with _client(stand_in) as client:
        assert (await client.user_info("U0LIWEI"))["locale"] == "zh-CN"
        with pytest.raises(SlackApiError) as unknown:
            await client.user_info("U0NOBODY")
    assert unknown.value.error == "user_not_found"


async def test_ok_false_in_a_200_is_an_error(stand_in):
    async with _client(stand_in) as client:
        with pytest.raises(SlackApiError) as missing:
            await client.post_message("", "x")
        await _fault(stand_in, mode="not_ok", error="channel_not_found", count=1)
        with pytest.raises(SlackApiError) as refused:
            await client.post_message("C0BILLING", "x")
    assert missing.value.error == "channel_not_found" and refused.value.error == "channel_not_found"
    assert refused.value.status == 200 and stand_in.workspace.messages == []


async def test_a_wrong_or_missing_token_is_refused(stand_in):
    async with _client(stand_in, token="xoxb-wrong") as client:
        with pytest.raises(SlackApiError) as wrong:
            await client.post_message("C0BILLING", "x")
    assert wrong.value.error == "invalid_auth"
    async with _client(stand_in, token=None) as client:
        with pytest.raises(SlackApiError) as missing:
            await client.post_message("C0BILLING", "x")
    assert missing.value.error == "not_configured" and stand_in.workspace.calls == {"chat.postMessage": 1}


async def test_rate_limits_are_waited_out_for_their_retry_after(stand_in):
    await _fault(stand_in, mode="throttle", count=2, retry_after=0.3)
    started = time.monotonic()
    async with _client(stand_in) as client:
        await client.post_message("C0BILLING", "after the wait")
    assert time.monotonic() - started >= 0.6
    assert stand_in.workspace.calls["chat.postMessage"] == 3 and len(stand_in.workspace.messages) == 1


async def test_a_retry_after_longer_than_we_wait_fails_at_once(stand_in):
    await _fault(stand_in, mode="throttle", count=1, retry_after=120)
    async with _client(stand_in, max_wait=5) as client:
        with pytest.raises(SlackApiError) as limited:
            await client.post_message("C0BILLING", "x")
    assert limited.value.error == "ratelimited" and limited.value.retry_after == 120


async def test_server_errors_are_retried_then_reported(stand_in):
    await _fault(stand_in, mode="error_500", count=2)
    async with _client(stand_in) as client:
        await client.post_message("C0BILLING", "third time")
        await _fault(stand_in, mode="error_500", count=5)
        with pytest.raises(SlackApiError) as failing:
            await client.post_message("C0BILLING", "never")
    assert failing.value.error == "http_500"
    assert [m["text"] for m in stand_in.workspace.messages] == ["third time"]


async def test_a_post_that_timed_out_is_not_sent_again(stand_in):
    await _fault(stand_in, mode="slow", delay=1.0, count=1)
    async with _client(stand_in, timeout=0.3) as client:
        with pytest.raises(SlackApiError) as slow:
            await client.post_message("C0BILLING", "maybe posted")
    assert slow.value.error == "timeout" and stand_in.workspace.calls["chat.postMessage"] == 1


async def test_a_read_that_timed_out_is_tried_again(stand_in):
    await _fault(stand_in, mode="slow", delay=1.0, count=1)
    async with _client(stand_in, timeout=0.3) as client:
        assert (await client.user_info("U0MEICHEN"))["locale"] == "en-US"
    assert stand_in.workspace.calls["users.info"] == 2


async def test_an_unreachable_api_is_reported():
    async with SlackClient(_settings("http://127.0.0.1:9"), backoff=0.01) as client:
        with pytest.raises(SlackApiError) as down:
            await client.post_message("C0BILLING", "x")
    assert down.value.error == "unreachable"


# --- the renderer -------------------------------------------------------------------------------


def test_a_structured_reply_becomes_sections_fields_context_and_buttons():
    reply = Reply("x", "en", "Invoice G000100001:", items=(Item(label="Compute", value="CNY 1.00"),
                                                           Item(label="Storage", value="CNY 2.00")),
                  footer="Due November 30, 2026.", buttons=({"title": "Yes, file it", "payload": "/affirm"},))
    rendered = slack_message(reply.message())
    assert [b["type"] for b in rendered.blocks] == ["section", "section", "context", "actions"]
    assert rendered.blocks[0]["text"] == {"type": "plain_text", "text": "Invoice G000100001:", "emoji": True}
    assert [f["text"] for f in rendered.blocks[1]["fields"]] == ["*Compute*\nCNY 1.00", "*Storage*\nCNY 2.00"]
    button = rendered.blocks[3]["elements"][0]
    assert button["value"] == "/affirm" and button["text"]["text"] == "Yes, file it"
    assert rendered.text == reply.plain()  # the fallback says everything


def test_list_items_are_one_section_of_bullets():
    reply = Reply("x", "en", "Overdue:", items=(Item(text="Fabrikam 12 days"), Item(text="Contoso 3 days")))
    blocks = slack_message(reply.message()).blocks
    assert blocks[1]["text"]["text"] == "• Fabrikam 12 days\n• Contoso 3 days"


def test_quoted_text_notifies_nobody():
    rendered = slack_message({"text": "You said: <!channel> & <@U0LIWEI>",
                              "custom": {"reply": {"text": "x", "items": [{"label": "<!here>", "value": "a&b"}]}}})
    assert rendered.text == "You said: &lt;!channel&gt; &amp; &lt;@U0LIWEI&gt;"
    assert rendered.blocks[1]["fields"][0]["text"] == "*&lt;!here&gt;*\na&amp;b"
    assert rendered.blocks[0]["text"]["type"] == "plain_text"  # plain text is never read as markup


def test_slacks_limits_are_kept():
    many = [Item(label=f"line {n}", value="x" * 2500) for n in range(130)]
    reply = Reply("x", "en", "y" * 5000, items=tuple(many),
                  buttons=tuple({"title": "t" * 100, "payload": f"/p{n}"} for n in range(30)))
    blocks = slack_message(reply.message()).blocks
    assert len(blocks) <= 50 and blocks[-1]["type"] == "actions" and blocks[-2]["type"] == "actions"
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if "text" in b)
    assert all(len(b.get("fields", [])) <= 10 and all(len(f["text"]) <= 2000 for f in b.get("fields", []))
               for b in blocks)
    assert all(len(e["text"]["text"]) <= 75 for b in blocks if b["type"] == "actions" for e in b["elements"])
    assert sum(len(b["elements"]) for b in blocks if b["type"] == "actions") == 30


async def test_what_the_renderer_makes_slack_accepts(stand_in):
    many = [Item(label=f"line {n}", value="x" * 2500) for n in range(130)]
    reply = Reply("x", "zh", "账单" * 3000, items=tuple(many), footer="f",
                  buttons=tuple({"title": "t" * 100, "payload": f"/p{n}"} for n in range(30)))
    rendered = slack_message(reply.message())
    async with _client(stand_in) as client:
        await client.post_message("C0BILLING", rendered.text, blocks=rendered.blocks)


def test_a_plain_text_message_is_one_section():
    rendered = slack_message({"text": "Hello!"})
    assert rendered.text == "Hello!" and rendered.blocks == [
        {"type": "section", "text": {"type": "plain_text", "text": "Hello!", "emoji": True}}]
