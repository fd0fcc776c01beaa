"""Payments made, credit, overdue invoices and a payment not on record yet, from the seeded data."""
from actions.invoices import ActionShowOverdue
from actions.payments import ActionExplainPaymentNotRecorded, ActionShowCredit, ActionShowPaymentsMade
from bot.billing import invoices
from decimal import Decimal as D
from tests.conftest import TODAY, make_tracker, run_action, texts


async def reply(action, customer, token_for, text="?"):
    return texts((await run_action(action, make_tracker(text, token=token_for(customer))))[0])


async def test_every_overdue_invoice_is_named_with_its_days(token_for):
    text = await reply(ActionShowOverdue(), "C-1002", token_for)
    assert text.startswith("2 invoices are overdue, CNY 24,380.00 in all:")
    assert "- G000200001 (August 2026): CNY 12,400.00, 56 days overdue (it was due September 30, 2026)" in text
    assert "- G000200002 (September 2026): CNY 11,980.00, 25 days overdue (it was due October 31, 2026)" in text


async def test_nothing_overdue_says_what_is_coming_due(token_for):
    text = await reply(ActionShowOverdue(), "C-1001", token_for)
    assert text == "Nothing is overdue. G000100002 (CNY 9,615.50) is due November 30, 2026 (in 5 days)."


async def test_total_paid_per_invoice(token_for):
    contoso = await reply(ActionShowPaymentsMade(), "C-1001", token_for)
    assert contoso.startswith("You have paid CNY 8,240.00 in all, in 1 payment:")
    assert "- towards G000100001 (September 2026): CNY 8,240.00" in contoso
    assert "The most recent: CNY 8,240.00 on October 20, 2026 by bank transfer (reference BT-20261020-0417)." in contoso
    northwind = await reply(ActionShowPaymentsMade(), "C-1003", token_for)
    assert "CNY 10,600.00 in all, in 2 payments" in northwind and "CNY 5,300.00 of it is a credit" in northwind
    assert await reply(ActionShowPaymentsMade(), "C-1002", token_for) == "We have no payments from you on record yet."


async def test_credit_from_an_overpayment(token_for):
    northwind = await reply(ActionShowCredit(), "C-1003", token_for)
    assert northwind.startswith("You have a credit of CNY 5,300.00:")
    assert "paid twice, on November 5, 2026 and November 6, 2026" in northwind
    assert (await reply(ActionShowCredit(), "C-1001", token_for)).startswith("You have no credit on your account")


async def test_a_payment_not_on_record_yet_and_when_service_comes_back(token_for):
    fabrikam = await reply(ActionExplainPaymentNotRecorded(), "C-1002", token_for,
                           "I transferred the money this morning, why is my service still off?")
    assert fabrikam.startswith("No payment for G000200001 (CNY 12,400.00) and G000200002 (CNY 11,980.00) is on record yet.")
    assert "within one business day" in fabrikam
    assert "Once the overdue CNY 24,380.00 is recorded, your" in fabrikam and "for a payment recorded today, by" in fabrikam
    northwind = await reply(ActionExplainPaymentNotRecorded(), "C-1003", token_for)
    assert northwind.startswith("All your invoices are paid: the most recent payment we recorded is CNY 5,300.00 on "
                                "November 6, 2026")


def test_payments_made_and_overdue_in_the_domain_layer(session):
    made = invoices.payments_made(session, "C-1003")
    assert (made.total, made.count, made.credit, made.last.reference) == (D("10600.00"), 2, D("5300.00"),
                                                                          "BT-20261106-2214")
    assert [i.number for i in invoices.overdue_invoices(session, "C-1002", TODAY)] == ["G000200001", "G000200002"]
    assert invoices.overdue_invoices(session, "C-1001", TODAY) == []
    assert [i.number for i in invoices.all_invoices(session, "C-1001")] == ["G000100002", "G000100001"]
