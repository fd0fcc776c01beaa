"""Fapiao (增值税发票) requests: the customer asks, the assistant records it, the partner issues it.

Partners, not 21Vianet, issue fapiao to their customers; nothing here talks to a tax system.

    models.py    the tables: customers' tax facts, partners' fapiao policies, requests, their
                 history (who did what, when) and the notices the customer has not seen yet
    checks.py    pure checks of what people type: taxpayer id (unified social credit code),
                 fapiao title, email, fapiao number
    policy.py    the partner's fapiao policy and the customer's registered tax facts (read, set)
    requests.py  the customer's side: prepare (the summary to confirm), file, status
    staff.py     the partner's side: the queue, mark issued, reject, history
    news.py      what the customer is told when a request is issued or rejected
    views.py     frozen views returned by all of the above (no ORM row leaves this package)
    __main__.py  the staff CLI (`python -m bot.fapiao list P-01`)

Everything returns codes and facts; bot/replies words them in the conversation's language.
Nothing is imported here, so `bot.fapiao.models` stays cheap for Alembic.
"""
