"""The reply layer through the real server: the conversation's language comes from the channel,
every reply (actions' and the dialogue's own responses) is in it, and structured replies arrive
whole with their items and buttons."""
import re
import uuid

import pytest
import requests

from bot.identity import issue_token
from tests.conftest import TEST_SECRET

pytestmark = pytest.mark.e2e
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def the_stacks_secret(monkeypatch):
    monkeypatch.setenv("BOT_TOKEN_SECRET", TEST_SECRET)  # tokens signed as the test stack verifies them


def send(stack, sender: str, message: str, token: str | None = None, locale: str | None = None) -> list[dict]:
    metadata = {**({"customer_token": token} if token else {}), **({"locale": locale} if locale else {})}
    response = requests.post(stack.rest_url, json={"sender": sender, "message": message, "metadata": metadata},
                             timeout=60)
    response.raise_for_status()
    return response.json()


def test_a_chinese_page_gets_chinese_answers_from_the_same_data(stack):
    sender = f"e2e-zh-{uuid.uuid4().hex[:8]}"
    [balance] = send(stack, sender, "what is my balance?", issue_token("C-1001"), locale="zh-CN")
    assert CJK.search(balance["text"]) and "CNY 9,615.50" in balance["text"]
    assert "2026年11月30日" in balance["text"]  # the due date, as Chinese writes dates
    structured = balance["custom"]["reply"]
    assert structured["locale"] == "zh" and any("G000100002" in item["text"] for item in structured["items"])
    # A response the dialogue predicts itself (not an action) is in Chinese too.
    [methods] = send(stack, sender, "how can I pay?", issue_token("C-1001"), locale="zh-CN")
    assert "支付宝" in methods["text"]


def test_the_same_question_in_english_by_default_and_line_items_as_rows(stack):
    sender = f"e2e-en-{uuid.uuid4().hex[:8]}"
    token = issue_token("C-1001")
    send(stack, sender, "show me my latest invoice", token)
    [lines] = send(stack, sender, "can I see the line items?", token)
    assert not CJK.search(lines["text"])
    rows = lines["custom"]["reply"]["items"]
    assert {"label": "Bandwidth", "value": "CNY 2,000.00"} in rows
    assert "- Bandwidth: CNY 2,000.00" in lines["text"]  # the same rows, as plain text


def test_the_language_can_change_mid_conversation(stack):
    sender = f"e2e-switch-{uuid.uuid4().hex[:8]}"
    token = issue_token("C-1002")
    english = send(stack, sender, "why is my subscription suspended?", token, locale="en")
    chinese = send(stack, sender, "why is my subscription suspended?", token, locale="zh")
    assert "suspended on November 15, 2026" in english[0]["text"]
    assert "2026年11月15日" in chinese[0]["text"] and "CNY 24,380.00" in chinese[0]["text"]


def test_an_unknown_locale_is_ignored_not_trusted(stack):
    sender = f"e2e-fr-{uuid.uuid4().hex[:8]}"
    [reply] = send(stack, sender, "how can I pay?", locale="<script>fr</script>")
    assert "Alipay" in reply["text"] and not CJK.search(reply["text"])
