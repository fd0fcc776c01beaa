"""The agent console: the web page support agents work in, over a JSON API and a live channel.

    python -m bot.console [--port 8090]

- app.py: the aiohttp application, its routes and how errors answer;
- auth.py: who is calling (the agent's bearer token) and signing in;
- conversation.py: the transcript (from the Rasa tracker) and the summary of a conversation;
- invoices.py: the customer's invoices, worded in the agent's language;
- live.py: the live channel (server-sent events), following the database and the tracker;
- page.py and static/: the page itself, and its sentences from the catalogue's `console` section.

Everything an agent does goes through the handoff domain (bot/handoff/queue.py) in the billing
database; nothing lives only in this process's memory, so any number of consoles can run.
"""
