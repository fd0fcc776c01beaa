"""The partner desk: what partner staff do from Slack and Teams.

- `directory`: who a platform user is (staff directory: platform, workspace/tenant, user -> staff).
- `audit`: every change staff make, queryable ("who suspended Fabrikam?").
- `collections`: overdue customers, with reminders and the date the policy would suspend them.
- `subscriptions`: suspending and reactivating, recorded durably first (outbox), applied to
  Partner Center by the worker.
- `payables`: what the partner owes 21Vianet.
"""
