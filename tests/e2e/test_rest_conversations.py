"""The real assistant over REST: trained model, action server, seeded database, signed tokens."""
import pytest
import requests

from bot.identity import issue_token

pytestmark = pytest.mark.e2e


def text_of(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def test_contoso_balance(chat):
    reply = text_of(chat("what is my balance?", token=issue_token("C-1001")))
    assert "CNY 9,615.50" in reply
    assert "G000100002" in reply


def test_contoso_learns_nothing_about_fabrikams_invoice(chat):
    token = issue_token("C-1001")
    foreign = text_of(chat("show me invoice G000200001", token=token))
    missing = text_of(chat("show me invoice G000999999", token=token))
    assert "couldn't find invoice G000200001" in foreign
    assert foreign.replace("G000200001", "X") == missing.replace("G000999999", "X")
    for secret in ("12,400", "Fabrikam", "August", "September 30"):
        assert secret not in foreign


def test_invoice_number_typed_with_spaces_and_lower_case(chat):
    reply = text_of(chat("can I see invoice g 000 100 001", token=issue_token("C-1001")))
    assert "Invoice G000100001 for September 2026: CNY 8,240.00" in reply


def test_follow_up_questions_stay_on_the_invoice(chat):
    token = issue_token("C-1001")
    assert "G000100002" in text_of(chat("show me my latest invoice", token=token))
    lines = text_of(chat("can I see the line items?", token=token))
    assert "Bandwidth: CNY 2,000.00" in lines
    change = text_of(chat("why did my bill go up?", token=token))
    assert "Bandwidth is new this month" in change


def test_without_a_token_general_questions_still_work(chat):
    assert "sign" in text_of(chat("what is my balance?")).lower()
    assert "Alipay" in text_of(chat("how can I pay?"))


def test_expired_token(chat):
    from datetime import datetime, timedelta, timezone
    old = issue_token("C-1001", ttl=timedelta(minutes=1), now=datetime.now(timezone.utc) - timedelta(hours=1))
    assert "expired" in text_of(chat("what is my balance?", token=old))


def test_suspended_customer(chat):
    reply = text_of(chat("why is my subscription suspended?", token=issue_token("C-1002")))
    assert "suspended on November 15, 2026 for non-payment" in reply and "CNY 24,380.00" in reply


def test_malformed_message_gets_a_clear_error_and_the_server_keeps_working(stack, chat):
    bad = requests.post(stack.rest_url, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=30)
    assert 400 <= bad.status_code < 500
    assert "CNY 9,615.50" in text_of(chat("what is my balance?", token=issue_token("C-1001")))
