"""Rasa custom actions: thin translations between the conversation and the billing domain (bot.*).

  actions.customer   who is asking (the caller the channel verified, bot/caller.py)
  actions.base       the base class for actions that show a verified customer's data
  actions.invoices   invoices, lines, balance, overdue invoices, due dates, payment status, bill changes
  actions.payments   what was paid in all, the credit it left, a payment not on record yet
  actions.account    subscription suspension and the collections policy
  actions.fallback   offering the likeliest topics when the model is unsure; a second miss hands off
  actions.handoff    bringing in a person (asked, two misses, a dispute, the bot's rules), leaving the
                     queue, rating the help, and a session start that keeps an agent's pause
  actions.fapiao     fapiao requests (type, paid invoice, prefilled summary, confirm) and their status
  actions.language   switching the conversation's language on request
  actions.staff      the base class for partner-staff actions: caller, role, session, errors
  actions.partner_desk  overdue customers, a customer's account, what the partner owes 21Vianet,
                     the audit log, suspending and reactivating subscriptions
  actions.partner    staff reporting a customer's problem to 21Vianet
  actions.partner_fapiao  staff: fapiao requests waiting, marking one issued
  (every sentence comes from the reply layer, bot/replies)
"""
