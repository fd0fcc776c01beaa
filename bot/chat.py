"""`python -m bot chat C-1001`: talk to the running assistant in a terminal, signed in as a customer.

It goes through the real REST channel with a freshly minted token, like the widget will, so
there is no development-only way around the channel's checks (the old BOT_SHELL_CUSTOMER
shortcut let any REST client claim to be the shell).
"""
from __future__ import annotations

import uuid

import requests

from bot.caller import CUSTOMER_TOKEN_KEY, STAFF_TOKEN_KEY


def chat(url: str, customer_id: str | None = None, staff: tuple[str, str] | None = None) -> int:
    from bot.identity import issue_staff_token, issue_token

    sender = f"chat-{uuid.uuid4().hex[:12]}"
    who = f"customer {customer_id}" if customer_id else f"{staff[1]} of {staff[0]}" if staff else "anonymous"
    print(f"Talking to {url} as {who} (conversation {sender}). Ctrl-D to leave.")
    while True:
        try:
            text = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not text:
            continue
        metadata = {}
        if customer_id:  # a fresh token each turn: a long session never expires mid-way
            metadata[CUSTOMER_TOKEN_KEY] = issue_token(customer_id)
        elif staff:
            metadata[STAFF_TOKEN_KEY] = issue_staff_token(*staff)
        try:
            response = requests.post(url, json={"sender": sender, "message": text, "metadata": metadata},
                                     timeout=(3, 60))
        except requests.RequestException as exc:
            print(f"(the assistant is not reachable at {url}: {type(exc).__name__}; is scripts/run.sh running?)")
            continue
        if not response.ok:
            print(f"(refused with {response.status_code}: {response.text[:300]})")
            continue
        for message in response.json():
            if message.get("text"):
                print(f"bot> {message['text']}")
            for button in message.get("buttons") or []:
                print(f"     [{button.get('title')}]  type: {button.get('payload')}")
