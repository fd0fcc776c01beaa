from actions.account import ActionExplainCollectionsPolicy, ActionExplainSuspension
from actions.fallback import ActionOfferTopics
from tests.conftest import make_tracker, run_action, texts


async def test_suspension_explained(token_for):
    reply = texts((await run_action(ActionExplainSuspension(), make_tracker("why is it suspended",
                                                                            token=token_for("C-1002"))))[0])
    assert reply == ("Your Azure plan subscription was suspended on November 15, 2026 for non-payment. To restore it, "
                     "pay the overdue balance of CNY 24,380.00 (G000200001 CNY 12,400.00 and G000200002 CNY 11,980.00). "
                     "Service is restored within one business day after the payment is received: if it reaches us today, "
                     "by November 26, 2026.")


async def test_active_subscription_is_not_suspended(token_for):
    reply = texts((await run_action(ActionExplainSuspension(), make_tracker("is it suspended",
                                                                            token=token_for("C-1001"))))[0])
    assert "Your subscription (Azure plan) is active" in reply and "technical support" in reply


async def test_policy_applied_to_the_customer(token_for):
    reply = texts((await run_action(ActionExplainCollectionsPolicy(), make_tracker("late policy",
                                                                                  token=token_for("C-1001"))))[0])
    assert reply.startswith("The payment policy of Lakeshore Cloud Partners: a reminder 7 days before")
    assert "There is no late fee." in reply
    assert ("For your invoice G000100002 (CNY 9,615.50, due November 30, 2026 (in 5 days)): the next reminder is on "
            "December 3, 2026, and access would be affected from December 30, 2026 if it stays unpaid.") in reply


async def test_policy_for_a_suspended_customer(token_for):
    reply = texts((await run_action(ActionExplainCollectionsPolicy(), make_tracker("late policy",
                                                                                  token=token_for("C-1002"))))[0])
    assert "Your subscription is suspended at the moment" in reply


async def test_policy_needs_sign_in(db_url):
    messages, _ = await run_action(ActionExplainCollectionsPolicy(), make_tracker("late policy"))
    assert messages[0]["response"] == "utter_sign_in_required"


async def test_fallback_offers_the_two_likeliest_topics(db_url):
    ranking = [{"name": "nlu_fallback", "confidence": 0.45}, {"name": "ask_balance", "confidence": 0.30},
               {"name": "out_of_scope", "confidence": 0.1}, {"name": "ask_due_date", "confidence": 0.08}]
    messages, _ = await run_action(ActionOfferTopics(), make_tracker("how much left", intent="nlu_fallback",
                                                                      intent_ranking=ranking))
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/ask_balance", "/ask_due_date", "/ask_capabilities"]


async def test_fallback_buttons_keep_the_month_the_message_named(db_url):
    ranking = [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "ask_invoice_lines", "confidence": 0.3},
               {"name": "explain_charge", "confidence": 0.2}]
    tracker = make_tracker("what was on my september bill", intent="nlu_fallback", intent_ranking=ranking,
                           entities=[{"entity": "billing_period", "value": "september"}])
    messages, _ = await run_action(ActionOfferTopics(), tracker)
    assert messages[0]["buttons"][0]["payload"] == '/ask_invoice_lines{"billing_period": "september"}'
