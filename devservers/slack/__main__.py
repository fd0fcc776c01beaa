"""The local Slack stand-in: serve the Web API, play a Slack user, read what the bot posted.

    python -m devservers.slack serve [--port 8766] [--token T]
    python -m devservers.slack say U0MEICHEN "which customers are overdue?" [--channel C0BILLING] [--thread TS]
    python -m devservers.slack click U0MEICHEN "/affirm" [--channel D0MEICHEN] [--thread TS]
    python -m devservers.slack replies [--channel D0MEICHEN]
    python -m devservers.slack faults throttle --count 2 --retry-after 3 | faults none
    python -m devservers.slack reset

`say` and `click` send what Slack would send to the bot's webhook (default
http://127.0.0.1:5005/webhooks/slack/webhook), signed with --secret, $SLACK_SIGNING_SECRET or the
secret in var/slack/signing-secret, as workspace T0LAKESHORE. The bot's replies are then posted
to this stand-in: `replies` shows them.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any

import requests
from aiohttp import web

from bot.config import VAR_DIR
from devservers.slack.events import (
    button_click,
    event_body,
    interaction_body,
    message_event,
    signed_headers,
)
from devservers.slack.server import DEFAULT_PORT, DEFAULT_TOKEN, FAULT_MODES, TEAM_ID, build_app

DEFAULT_STAND_IN = f"http://127.0.0.1:{DEFAULT_PORT}"
# Where a local run (the launcher) may keep the signing secret it generated for the demo.
SECRET_FILE = VAR_DIR / "slack" / "signing-secret"
DEFAULT_WEBHOOK = "http://127.0.0.1:5005/webhooks/slack/webhook"
TIMEOUT = (3.0, 10.0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devservers.slack", description="Local Slack stand-in.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the Slack Web API stand-in")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--token", default=None, help="bot token to accept (default $SLACK_BOT_TOKEN or a dev token)")

    def to_bot(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("user", help="Slack user id, e.g. U0MEICHEN (Mei Chen), U0LIWEI, U0STRANGER")
        sub.add_argument("--url", default=DEFAULT_WEBHOOK, help=f"the bot's webhook (default {DEFAULT_WEBHOOK})")
        sub.add_argument("--team", default=TEAM_ID)
        sub.add_argument("--channel", default=None, help="default: the user's DM with the bot (D...)")
        sub.add_argument("--thread", default=None, help="thread_ts of the thread the message is in")
        sub.add_argument("--secret", default=None,
                         help="signing secret (default $SLACK_SIGNING_SECRET, else var/slack/signing-secret)")
        return sub

    say = to_bot("say", "send a message as a Slack user (a DM, or a mention in --channel)")
    say.add_argument("text")
    say.add_argument("--event-id", default=None, help="reuse an event id (to play a retry)")
    say.add_argument("--retry-num", type=int, default=None, help="send as Slack's retry number N")
    click = to_bot("click", "click a button whose value is VALUE, as a Slack user")
    click.add_argument("value", help="the button's value: the payload, e.g. /affirm")

    replies = commands.add_parser("replies", help="what the bot posted to the stand-in")
    replies.add_argument("--url", default=DEFAULT_STAND_IN)
    replies.add_argument("--channel", default=None)
    replies.add_argument("--json", action="store_true", help="print Slack's JSON as received")

    faults = commands.add_parser("faults", help="make the next Web API calls fail")
    faults.add_argument("mode", choices=FAULT_MODES)
    faults.add_argument("--count", type=int, default=None, help="how many calls (default: until cleared)")
    faults.add_argument("--retry-after", type=float, default=None, help="seconds, for throttle")
    faults.add_argument("--error", default=None, help="Slack error code, for not_ok (default internal_error)")
    faults.add_argument("--delay", type=float, default=None, help="seconds, for slow")
    faults.add_argument("--url", default=DEFAULT_STAND_IN)

    reset = commands.add_parser("reset", help="forget posted messages, calls and faults")
    reset.add_argument("--url", default=DEFAULT_STAND_IN)
    return parser


def _secret(args: argparse.Namespace) -> str | None:
    """--secret, else $SLACK_SIGNING_SECRET, else the file a local run keeps it in (owner-only)."""
    if args.secret or os.environ.get("SLACK_SIGNING_SECRET"):
        return args.secret or os.environ["SLACK_SIGNING_SECRET"]
    try:
        return SECRET_FILE.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _send(url: str, body: bytes, headers: dict[str, str]) -> int:
    try:
        answer = requests.post(url, data=body, headers=headers, timeout=TIMEOUT)
    except requests.RequestException as exc:
        print(f"error: cannot reach {url}: {type(exc).__name__}", file=sys.stderr)
        return 2
    print(f"{answer.status_code} {answer.text[:200]}")
    return 0 if answer.ok else 1


def _say(args: argparse.Namespace) -> int:
    secret = _secret(args)
    if not secret:
        print(f"error: set SLACK_SIGNING_SECRET (the bot's), pass --secret or write it to {SECRET_FILE}",
              file=sys.stderr)
        return 2
    if args.command == "say":
        body = event_body(message_event(args.user, args.text, team=args.team, channel=args.channel,
                                        thread_ts=args.thread, event_id=args.event_id))
        headers = signed_headers(secret, body, retry_num=args.retry_num)
    else:
        body = interaction_body(button_click(args.user, args.value, team=args.team, channel=args.channel,
                                             thread_ts=args.thread))
        headers = signed_headers(secret, body, content_type="application/x-www-form-urlencoded")
    return _send(args.url, body, headers)


def readable(message: dict[str, Any]) -> str:
    """One posted message as a person would read it: where, then text, then its buttons."""
    where = message.get("channel", "?") + (f" thread {message['thread_ts']}" if message.get("thread_ts") else "")
    lines = [f"[{where}] {message.get('text', '')}"]
    for block in message.get("blocks") or []:
        if block.get("type") == "actions":
            lines.append("  buttons: " + " | ".join(f"{e['text']['text']} -> {e.get('value')}"
                                                    for e in block.get("elements", [])))
    return "\n".join(lines)


def _admin(method: str, url: str, payload: dict[str, Any] | None = None) -> dict[str, Any] | None:
    try:
        answer = requests.request(method, url, json=payload, timeout=TIMEOUT)
        answer.raise_for_status()
        return answer.json()
    except (requests.RequestException, ValueError) as exc:
        print(f"error: {url}: {type(exc).__name__}", file=sys.stderr)
        return None


def _replies(args: argparse.Namespace) -> int:
    body = _admin("GET", f"{args.url.rstrip('/')}/_admin/messages")
    if body is None:
        return 2
    messages = [m for m in body.get("messages", []) if not args.channel or m.get("channel") == args.channel]
    for message in messages:
        print(json.dumps(message, ensure_ascii=False) if args.json else readable(message))
    if not messages:
        print("(nothing posted yet)")
    return 0


def _faults(args: argparse.Namespace) -> int:
    payload: dict[str, Any] = {"mode": args.mode}
    for key in ("count", "retry_after", "error", "delay"):
        if getattr(args, key) is not None:
            payload[key] = getattr(args, key)
    body = _admin("POST", f"{args.url.rstrip('/')}/_admin/faults", payload)
    print(json.dumps(body) if body else "")
    return 0 if body else 2


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    token = args.token or os.environ.get("SLACK_BOT_TOKEN") or DEFAULT_TOKEN
    print(f"local Slack Web API listening on http://{args.host}:{args.port}/api", flush=True)
    web.run_app(build_app(token), host=args.host, port=args.port, print=None)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command in ("say", "click"):
        return _say(args)
    if args.command == "replies":
        return _replies(args)
    if args.command == "faults":
        return _faults(args)
    if args.command == "reset":
        body = _admin("POST", f"{args.url.rstrip('/')}/_admin/reset")
        print(json.dumps(body) if body else "")
        return 0 if body is not None else 2
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
