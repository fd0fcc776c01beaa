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


@pytest.mark.parametrize("typed, number", [
    ("show me G000-100-002", "G000100002"), ("can I see invoice G 000-100-001", "G000100001"),
    ("inv no. g000100001", "G000100001"), ("invoice #000100002 please", "G000100002"),
])
def test_invoice_numbers_in_the_ways_people_write_them(chat, typed, number):
    reply = text_of(chat(typed, token=issue_token("C-1001")))
    assert f"Invoice {number} for" in reply, reply


@pytest.mark.parametrize("typed", ["show me invoice 100002", "can I see invoice G12345"])
def test_a_number_that_cannot_be_an_invoice_is_said_so_not_swapped_for_another(chat, typed):
    reply = text_of(chat(typed, token=issue_token("C-1001")))
    assert "doesn't look like an invoice number" in reply and "G000100002 for" not in reply, reply


def test_a_question_in_html_is_answered_and_no_markup_comes_back(chat):
    reply = chat("<div><p>Hi team,</p><p>what is my <b>balance</b>?</p></div>", token=issue_token("C-1001"))
    assert "CNY 9,615.50" in text_of(reply) and "<" not in text_of(reply)


def test_a_long_message_is_read_from_its_beginning_and_the_customer_is_told(chat):
    rambling = ("What is my balance? We're reconciling our accounts for the year-end close and our finance "
                "team keeps asking me for numbers, so sorry for the long message. ") * 40  # about 6,000 characters
    reply = text_of(chat(rambling, token=issue_token("C-1001")))
    assert "answered the question in it: \"What is my balance?\"" in reply and "CNY 9,615.50" in reply


@pytest.mark.parametrize("customer, message, expected", [
    ("C-1002", "which of my invoices are overdue?", ["2 invoices are overdue", "G000200001", "56 days overdue",
                                                      "G000200002", "25 days overdue"]),
    ("C-1002", "what's overdue?", ["2 invoices are overdue"]),
    ("C-1001", "how much have I paid in total?", ["You have paid CNY 8,240.00 in all"]),
    ("C-1001", "what have I paid so far?", ["You have paid CNY 8,240.00 in all"]),
    ("C-1003", "do I have any credit?", ["You have a credit of CNY 5,300.00"]),
    ("C-1002", "I transferred the money this morning, why is my service still off?",
     ["No payment for G000200001", "is on record yet", "for a payment recorded today, by"]),
    ("C-1001", "what does Northwind owe?", ["only show the account you're signed in to"]),
    ("C-1001", "which customers are overdue?", ["partner desk in Microsoft Teams and Slack"]),
])
def test_account_facts_customers_ask_for(chat, customer, message, expected):
    reply = text_of(chat(message, token=issue_token(customer)))
    for part in expected:
        assert part in reply, reply


def test_another_companys_account_never_shows_ours_instead(chat):
    reply = text_of(chat("what's the balance of Fabrikam?", token=issue_token("C-1001")))
    assert "CNY 9,615.50" not in reply and "only show the account you're signed in to" in reply


def test_follow_ups_stay_on_the_invoice_in_focus_and_move_from_it(chat):
    token = issue_token("C-1001")
    assert "Invoice G000100001 for September 2026" in text_of(chat("could you bring up G000100001?", token=token))
    due = text_of(chat("and when was that due?", token=token))
    assert due == "G000100001 (September 2026, CNY 8,240.00) was due October 31, 2026 and is paid.", due
    october = text_of(chat("what about October?", token=token))
    assert october.startswith("G000100002 (October 2026, CNY 9,615.50) is due November 30, 2026"), october
    back = text_of(chat("and the one before that?", token=token))
    assert back.startswith("G000100001 (September 2026, CNY 8,240.00) was due October 31, 2026"), back


def test_the_previous_invoice_after_the_latest(chat):
    token = issue_token("C-1001")
    assert "Your latest invoice is G000100002" in text_of(chat("what's my newest bill?", token=token))
    previous = text_of(chat("the previous one", token=token))
    assert previous.startswith("Invoice G000100001 for September 2026: CNY 8,240.00"), previous


def test_every_invoice_is_listed(chat):
    reply = text_of(chat("show me every invoice I have", token=issue_token("C-1001")))
    assert reply.startswith("You have 2 invoices, newest first:") and "G000100001 (September 2026)" in reply


@pytest.mark.parametrize("message", ["why is this month's bill bigger than last month's?",
                                     "how come my bill this month is higher than the previous month's?"])
def test_this_month_against_last_month(chat, message):
    reply = text_of(chat(message, token=issue_token("C-1001")))
    assert "invoice G000100002 is CNY 9,615.50, CNY 1,375.50 more than September 2026" in reply, reply
    assert "first invoice" not in reply


def test_dispute_details_in_words_that_sound_like_another_topic_are_kept(chat):
    token = issue_token("C-1004")
    assert "Which invoice" in text_of(chat("I'd like to contest a charge", token=token))
    assert "I need to know which invoice it is." in text_of(chat("yes", token=token))
    assert "Which charge on G000400001" in text_of(chat("G000400001", token=token))
    assert "What's wrong with it?" in text_of(chat("the reserved instance purchase", token=token))
    summary = text_of(chat("we sent it via WeChat Pay on the 18th", token=token))
    assert "we sent it via WeChat Pay on the 18th" in summary and "Shall I file it?" in summary, summary


def test_switching_from_a_dispute_to_a_refund_keeps_the_invoice(chat):
    token = issue_token("C-1003")
    assert "Which invoice" in text_of(chat("I want to dispute a charge", token=token))
    assert "Which charge on G000300001" in text_of(chat("G000300001", token=token))
    switched = text_of(chat("actually I'd rather just get a refund", token=token))
    assert "let's make it a refund request instead" in switched and "G000300001" in switched, switched
    assert "Your reference is" in text_of(chat("yes please", token=token))


def test_switching_from_a_refund_to_a_dispute(chat):
    token = issue_token("C-1004")
    assert "Which invoice is the refund for?" in text_of(chat("can I get a refund?", token=token))
    switched = text_of(chat("no wait, I want to dispute a charge on G000400001", token=token))
    assert "let's make it a dispute instead" in switched and "Which charge on G000400001" in switched, switched


def test_a_charge_named_when_the_dispute_began_is_not_asked_again(chat):
    token = issue_token("C-1001")
    asked = text_of(chat("I'd like to contest the storage line", token=token))
    assert "Which invoice" in asked
    after = text_of(chat("G000100002", token=token))
    assert "Which charge" not in after and "What's wrong with it?" in after  # Storage, named at the start
    confirm = text_of(chat("it's more than we agreed", token=token))
    assert "Storage" in confirm and "Shall I file it?" in confirm, confirm
