"""Escalations: disputes the billing data cannot settle, sent to 21Vianet and followed to closure.

    models.py    the tables (escalations, their history, outbound notes, customer notifications)
    records.py   the domain functions the conversation and partner staff call (one Session each)
    views.py     frozen views of rows, returned by records.py
    backoff.py   retry delays (exponential, full jitter) and the circuit breaker
    relay.py     sends pending escalations and queued notes to 21Vianet
    poller.py    follows sent tickets and records their status, notes and closure
    worker.py    runs relay, poller and notification pushes in a loop (`python -m bot.escalation worker`)

Nothing is imported here, so `bot.escalation.models` stays cheap for Alembic.
"""
