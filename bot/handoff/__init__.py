"""Human handoff: a conversation the bot cannot help with goes to a queue of the partner's support
agents, one agent takes it over live in the console (bot/console/), and hands it back or closes it.

- models.py: agents, support policies, handoffs and the outbox of what is said to the customer;
- hours.py: a partner's staffed hours, in its time zone;
- queue.py: the domain: request, cancel, claim, reply, release, close, rate, and the queue view;
- delivery.py: the outbox's deliverer, through the one conversation-push component;
- rules.py: the bot's own reasons to bring in a person the customer did not ask for;
- agents.py: agents' sign-in and the console's bearer tokens;
- report.py: counts, response times, breaches and satisfaction.
"""
