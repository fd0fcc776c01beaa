"""The core and escalation conversations in Simplified Chinese, over REST against the trained
model: the same facts from the same data, and every reply in Chinese. Nothing tells the assistant
the language but the messages themselves (no locale in the metadata)."""
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
    monkeypatch.setenv("BOT_TOKEN_SECRET", TEST_SECRET)


class Conversation:
    def __init__(self, stack, customer: str | None):
        self.url, self.customer = stack.rest_url, customer
        self.sender = f"e2e-zh-{uuid.uuid4().hex[:8]}"

    def say(self, message: str) -> str:
        metadata = {"customer_token": issue_token(self.customer)} if self.customer else {}
        response = requests.post(self.url, json={"sender": self.sender, "message": message, "metadata": metadata},
                                 timeout=60)
        response.raise_for_status()
        replies = [r.get("text", "") for r in response.json()]
        assert replies and all(CJK.search(r) for r in replies), replies  # every reply in Chinese
        buttons = [b["title"] for r in response.json() for b in r.get("buttons", [])]
        return "\n".join(replies + buttons)


@pytest.mark.parametrize("customer, message, facts", [
    ("C-1001", "账单多少钱", ["CNY 9,615.50", "G000100002"]),
    ("C-1001", "我现在还欠多少钱？", ["CNY 9,615.50"]),
    ("C-1001", "这个月的账单什么时候到期", ["2026年11月30日"]),
    ("C-1001", "帮我看下G000100001这张账单", ["G000100001", "CNY 8,240.00"]),
    ("C-1001", "九月份的账单给我看一下", ["G000100001", "2026年9月"]),
    ("C-1001", "最新账单的明细", ["CNY 2,000.00"]),
    ("C-1001", "G000100002 这张发票为什么多了", ["G000100002", "2026年9月"]),
    ("C-1002", "Azure 订阅被暂停了", ["2026年11月15日", "CNY 24,380.00"]),
    ("C-1002", "我们哪些账单逾期了", ["G000200001", "G000200002"]),
    ("C-1002", "逾期多久会停服？有滞纳金吗", ["Lakeshore"]),
    ("C-1003", "我们是不是多付了钱", ["CNY"]),
    (None, "可以用支付宝付款吗", ["支付宝"]),
])
def test_customer_questions_in_chinese(stack, customer, message, facts):
    reply = Conversation(stack, customer).say(message)
    for fact in facts:
        assert fact in reply, reply


def test_another_customers_invoice_is_hidden_in_chinese_too(stack):
    contoso = Conversation(stack, "C-1001")
    foreign = contoso.say("看一下账单 G000200001")
    missing = contoso.say("看一下账单 G000999999")
    assert foreign.replace("G000200001", "X") == missing.replace("G000999999", "X")
    assert "12,400" not in foreign and "Fabrikam" not in foreign


def test_out_of_scope_and_a_person_in_chinese(stack):
    talk = Conversation(stack, "C-1001")
    assert "技术支持" in talk.say("我的虚拟机启动不了，怎么办")
    assert talk.say("我要找人工客服")  # in Chinese (asserted by say), whatever the handoff says


def test_a_dispute_in_chinese_is_filed_with_the_customers_own_words(stack):
    contoso = Conversation(stack, "C-1001")
    assert "G000100002" in contoso.say("我要对一笔费用提出争议")  # which invoice? (its buttons)
    assert "带宽" in contoso.say("G000100002")  # which charge? the lines by their Chinese names
    contoso.say("带宽这项")
    confirm = contoso.say("我们这个月根本没有用过这么多流量")
    assert "我们这个月根本没有用过这么多流量" in confirm
    filed = contoso.say("是的")
    assert re.search(r"ESC-[A-Z0-9]{6}", filed), filed


def test_a_refund_in_chinese_declined_files_nothing(stack):
    northwind = Conversation(stack, "C-1003")
    northwind.say("我们重复付款了，想申请退款")
    plan = northwind.say("G000300001")
    assert "CNY" in plan and "G000300001" in plan
    declined = northwind.say("不用了")
    assert not re.search(r"ESC-[A-Z0-9]{6}", declined)
    assert "没有提交" in declined or "未提交" in declined or "不会提交" in declined, declined


def test_mixed_language_and_switching_mid_conversation(stack):
    talk = Conversation(stack, "C-1001")
    assert "CNY 9,615.50" in talk.say("what's my balance 我还欠多少")
    switched = requests.post(stack.rest_url, json={"sender": talk.sender, "message": "请用英文",
                                                   "metadata": {"customer_token": issue_token("C-1001")}},
                             timeout=60).json()
    assert "English" in switched[0]["text"]
    english = requests.post(stack.rest_url, json={"sender": talk.sender, "message": "我现在还欠多少钱？",
                                                  "metadata": {"customer_token": issue_token("C-1001")}},
                            timeout=60).json()
    assert "Your balance is CNY 9,615.50" in english[0]["text"]  # kept in English, though asked in Chinese


def test_a_fapiao_requested_in_chinese_issued_by_staff_and_told(stack):
    import subprocess
    import sys

    contoso = Conversation(stack, "C-1001")
    asked = contoso.say("帮我开一张增值税专用发票")
    assert "G000100001" in asked  # which paid invoice? (the unpaid G000100002 is not offered)
    summary = contoso.say("G000100001")
    for fact in ("康托索（上海）科技有限公司", "91310000MA1FL0B106", "招商银行上海分行营业部", "finance@contoso.example"):
        assert fact in summary, summary
    assert "校验码" in contoso.say("税号改成91310000MA1FL0B107")  # a typo in the code is caught
    filed = contoso.say("确认")
    reference = re.search(r"FP-[A-Z0-9]{6}", filed).group()
    assert reference in contoso.say("我的发票开了吗？")
    issued = subprocess.run([sys.executable, "-m", "bot.fapiao", "issue", reference, "--partner", "P-01",
                             "--number", "26310000000000054321", "--by", "Mei Chen"],
                            env=stack.child_env, capture_output=True, text=True)
    assert issued.returncode == 0, issued.stderr
    news = contoso.say("我的余额是多少")
    assert "26310000000000054321" in news and "已开具" in news
