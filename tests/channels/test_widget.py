"""The widget channel's plain parts: conversation ids, anonymous sessions, the rate limit, what a
bot message becomes (PDF links only for a signed-in customer), the history, invoice PDFs and their
links. The channel itself is tested against the real Rasa server in tests/e2e/test_widget_socket.py."""
from datetime import date

import jwt
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.widget import (
    ANONYMOUS_PREFIX,
    RateLimiter,
    Viewer,
    _history,
    bot_message,
    conversation_of_session,
    customer_conversation_id,
    invoices_offered,
    issue_session_token,
)
from bot.documents.invoice_pdf import invoice_pdf
from bot.documents.links import pdf_link_target, sign_pdf_link
from tests.conftest import TEST_SECRET

SUMMARY = {"text": "Your latest invoice is G000100002 ...",
           "buttons": [{"title": "See the line items", "payload": '/ask_invoice_lines{"invoice_number":"G000100002"}'},
                       {"title": "Why did it change?", "payload": '/explain_charge{"invoice_number":"G000100002"}'}]}


def test_a_customers_conversation_is_derived_from_who_they_are_and_opaque():
    contoso = customer_conversation_id("customer:C-1001", TEST_SECRET)
    assert contoso == customer_conversation_id("customer:C-1001", TEST_SECRET)
    assert contoso != customer_conversation_id("customer:C-1002", TEST_SECRET)
    assert "C-1001" not in contoso and contoso != customer_conversation_id("customer:C-1001", TEST_SECRET + "x")


def test_an_anonymous_session_resumes_only_with_a_genuine_token_for_an_anonymous_conversation():
    token = issue_session_token(ANONYMOUS_PREFIX + "abc", TEST_SECRET, days=1)
    assert conversation_of_session(token, TEST_SECRET) == ANONYMOUS_PREFIX + "abc"
    assert conversation_of_session(token, "another-secret-of-the-same-length-00000000") is None
    assert conversation_of_session(issue_session_token(ANONYMOUS_PREFIX + "x", TEST_SECRET, days=-1), TEST_SECRET) is None
    # A genuine session token can't name a customer's conversation.
    assert conversation_of_session(issue_session_token("widget-c-0123", TEST_SECRET, days=1), TEST_SECRET) is None
    customer = jwt.encode({"sub": ANONYMOUS_PREFIX + "x", "aud": "customer", "iss": "billing-help-desk",
                           "exp": 9999999999}, TEST_SECRET, algorithm="HS256")
    assert conversation_of_session(customer, TEST_SECRET) is None  # another audience
    for junk in (None, 42, "", "x" * 5000):
        assert conversation_of_session(junk, TEST_SECRET) is None


def test_the_rate_limit_is_a_sliding_window_per_conversation():
    limiter = RateLimiter(3, 10)
    assert [limiter.allow("a", now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.allow("b", now=3)  # another conversation has its own count
    assert limiter.allow("a", now=10.5) and not limiter.allow("a", now=10.6)


def test_invoices_are_found_in_the_structure_of_a_message_never_in_its_words():
    assert invoices_offered(SUMMARY) == ["G000100002"]
    assert invoices_offered({"text": "Invoice G000100001 is paid"}) == []
    assert invoices_offered({"text": "", "custom": {"reply": {"invoice": "G000100001"}}}) == ["G000100001"]
    assert invoices_offered({"buttons": [{"title": "x", "payload": "/ask_invoice{not json"}]}) == []


def test_only_a_signed_in_customer_gets_pdf_links_and_only_the_channel_makes_them(db_url):
    assert "custom" not in bot_message(SUMMARY)
    forged = bot_message({**SUMMARY, "custom": {"downloads": [{"url": "https://evil.example"}]}})
    assert "downloads" not in forged.get("custom", {})
    sent = bot_message(SUMMARY, Viewer("C-1001", "zh", "http://127.0.0.1:5005"))
    (download,) = sent["custom"]["downloads"]
    assert download["title"] == "下载 PDF" and download["filename"] == "G000100002.pdf"
    assert download["url"].startswith("http://127.0.0.1:5005/webhooks/widget/invoice.pdf?lang=zh&link=")
    assert pdf_link_target(download["url"].split("link=")[1]) == ("C-1001", "G000100002")
    assert sent["buttons"] == SUMMARY["buttons"]


def test_the_history_shows_a_quick_reply_by_its_title():
    tracker = DialogueStateTracker.from_events("c", [
        ActionExecuted("action_listen"), UserUttered("show my latest invoice"),
        BotUttered(SUMMARY["text"], {"buttons": SUMMARY["buttons"]}),
        UserUttered('/ask_invoice_lines{"invoice_number":"G000100002"}'), BotUttered("Lines"),
        UserUttered("/unknown_payload"), BotUttered("Hm"),
    ])
    shown = _history(tracker, 100, None)
    assert [(m["sender"], m["text"]) for m in shown] == [
        ("user", "show my latest invoice"), ("bot", SUMMARY["text"]), ("user", "See the line items"),
        ("bot", "Lines"), ("bot", "Hm")]
    assert _history(tracker, 2, None) == shown[-2:]


def test_the_invoice_pdf_is_the_owners_only(session):
    pdf = invoice_pdf(session, "C-1001", "G000100001", "en")
    assert pdf.startswith(b"%PDF-") and len(pdf) > 2000
    assert invoice_pdf(session, "C-1001", "G000200001", "en") is None  # Fabrikam's
    assert invoice_pdf(session, "C-1001", "G000999999", "zh") is None
    assert invoice_pdf(session, "C-1002", "G000200001", "zh").startswith(b"%PDF-")


def test_a_pdf_link_is_signed_short_lived_and_names_one_invoice(db_url):
    link = sign_pdf_link("C-1001", "G000100001")
    assert pdf_link_target(link) == ("C-1001", "G000100001")
    assert pdf_link_target(sign_pdf_link("C-1001", "G000100001", seconds=-1)) is None
    assert pdf_link_target(link[:-2] + "xx") is None
    assert pdf_link_target(None) is None and pdf_link_target(date.today()) is None
