"""Run the local Teams (Bot Framework) stand-in, or talk to the bot through it.

    python -m devservers.teams serve [--port 8767] [--key-file var/teams-standin/signing-key.pem]
    python -m devservers.teams say a1a1a1a1-0000-4000-8000-000000000001 "which customers are overdue?"
        [--url http://127.0.0.1:5005/webhooks/botframework/webhook] [--locale zh-CN] [--tenant T]
        [--channel] [--wait 20]
    python -m devservers.teams replies [--conversation ID]
    python -m devservers.teams reset

`serve` reads BOTFRAMEWORK_APP_ID / _APP_PASSWORD / _TENANT_ID / _ISSUER when set, so the bot and
the stand-in can share one environment; otherwise it uses local demo values, and prints the
environment to give the Rasa server. The admin commands talk to --standin (default
http://127.0.0.1:8767).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import requests

from bot.config import VAR_DIR
from devservers.teams.server import DEFAULT_ISSUER, DEFAULT_PORT, TeamsStandIn, bot_env
from devservers.teams.signing import (
    DEFAULT_APP_ID,
    DEFAULT_APP_PASSWORD,
    DEFAULT_TENANT_ID,
    Person,
    build_activity,
    load_or_create_key,
    sign_channel_token,
)

DEFAULT_KEY_FILE = VAR_DIR / "teams-standin" / "signing-key.pem"
DEFAULT_STANDIN = f"http://127.0.0.1:{DEFAULT_PORT}"
DEFAULT_BOT_URL = "http://127.0.0.1:5005/webhooks/botframework/webhook"
TIMEOUT = (3.0, 30.0)


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def _serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    standin = TeamsStandIn(key_file=args.key_file, issuer=_env("BOTFRAMEWORK_ISSUER", DEFAULT_ISSUER),
                           app_id=_env("BOTFRAMEWORK_APP_ID", DEFAULT_APP_ID),
                           app_password=_env("BOTFRAMEWORK_APP_PASSWORD", DEFAULT_APP_PASSWORD),
                           tenant_id=_env("BOTFRAMEWORK_TENANT_ID", DEFAULT_TENANT_ID), public_url=args.public_url)
    print(f"Teams stand-in on http://{args.host}:{args.port} (signing key {args.key_file}). "
          "Rasa server environment:", flush=True)
    for name, value in bot_env(args.port, standin, args.host).items():
        shown = "<as set>" if name == "BOTFRAMEWORK_APP_PASSWORD" and value != DEFAULT_APP_PASSWORD else value
        print(f"  {name}={shown}", flush=True)
    web.run_app(standin.app(), host=args.host, port=args.port, print=None, access_log=None)
    return 0


def _admin(args: argparse.Namespace, method: str, path: str, **kwargs: Any) -> Any:
    try:
        response = requests.request(method, f"{args.standin.rstrip('/')}{path}", timeout=TIMEOUT, **kwargs)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SystemExit(f"The Teams stand-in at {args.standin} did not answer ({exc}). "
                         "Start it: python -m devservers.teams serve") from exc


def _say(args: argparse.Namespace) -> int:
    config = _admin(args, "GET", "/_admin/config")
    key = load_or_create_key(Path(args.key_file or config["key_file"]))
    person = Person(args.aad_object_id, tenant_id=args.tenant or config["tenant_id"])
    activity = build_activity(person, args.text, service_url=config["service_url"], app_id=config["app_id"],
                              locale=args.locale, conversation_type="channel" if args.channel else "personal")
    token = sign_channel_token(key, issuer=config["issuer"], app_id=config["app_id"],
                               service_url=config["service_url"])
    seen = len(_admin(args, "GET", "/_admin/activities")["activities"])
    try:
        response = requests.post(args.url, json=activity, headers={"Authorization": f"Bearer {token}"},
                                 timeout=TIMEOUT)
    except requests.RequestException as exc:
        print(f"The bot at {args.url} did not answer: {exc}", file=sys.stderr)
        return 1
    print(f"-> {args.url}: {response.status_code}")
    if response.status_code != 200:
        return 1
    conversation = activity["conversation"]["id"]
    deadline, shown, last_new = time.monotonic() + args.wait, 0, 0.0
    while time.monotonic() < deadline:
        new = [a for a in _admin(args, "GET", "/_admin/activities")["activities"][seen:]
               if a["conversation_id"] == conversation]
        for entry in new[shown:]:
            print(_readable(entry))
        if len(new) > shown:
            shown, last_new = len(new), time.monotonic()
        elif shown and time.monotonic() - last_new > 1.5:  # a turn may say more than one thing
            return 0
        time.sleep(0.3)
    if not shown:
        print(f"(no reply within {args.wait:g}s; see `python -m devservers.teams replies` later)")
    return 0


def _readable(entry: dict[str, Any]) -> str:
    activity = entry["activity"]
    lines = [f"[{entry['conversation_id'][:24]}] {activity.get('text', '')}"]
    for attachment in activity.get("attachments") or []:
        card = attachment.get("content") or {}
        for block in card.get("body") or []:
            if block.get("type") == "FactSet":
                lines += [f"    {f['title']}: {f['value']}" for f in block.get("facts", [])]
            elif block.get("type") == "TextBlock":
                lines.append(f"    {block.get('text', '')}")
        lines += [f"    [{a.get('title')}] -> {(a.get('data') or {}).get('payload')}" for a in card.get("actions") or []]
    return "\n".join(lines)


def _replies(args: argparse.Namespace) -> int:
    body = _admin(args, "GET", "/_admin/activities")
    entries = [a for a in body["activities"] if not args.conversation or a["conversation_id"] == args.conversation]
    if args.json:
        print(json.dumps(entries, ensure_ascii=False, indent=2))
        return 0
    for entry in entries:
        print(_readable(entry))
    if not entries:
        print("(the bot has sent nothing)")
    return 0


def _reset(args: argparse.Namespace) -> int:
    _admin(args, "POST", "/_admin/reset")
    print("reset")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devservers.teams", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the stand-in")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--key-file", type=Path, default=DEFAULT_KEY_FILE)
    serve.add_argument("--public-url", default=None, help="how the bot reaches this server (default: its Host)")
    serve.set_defaults(run=_serve)

    def admin(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--standin", default=DEFAULT_STANDIN, help=f"the running stand-in ({DEFAULT_STANDIN})")
        return sub

    say = admin("say", "send a signed message activity from a Teams user to the bot")
    say.add_argument("aad_object_id")
    say.add_argument("text")
    say.add_argument("--url", default=DEFAULT_BOT_URL, help=f"the bot's webhook ({DEFAULT_BOT_URL})")
    say.add_argument("--locale", default="en-US")
    say.add_argument("--tenant", default=None, help="the user's tenant (default: the stand-in's)")
    say.add_argument("--channel", action="store_true", help="from a team channel (mentioning the bot)")
    say.add_argument("--key-file", default=None, help="signing key (default: the stand-in's)")
    say.add_argument("--wait", type=float, default=20.0, help="seconds to wait for the replies")
    say.set_defaults(run=_say)
    replies = admin("replies", "print what the bot sent")
    replies.add_argument("--conversation", default=None)
    replies.add_argument("--json", action="store_true")
    replies.set_defaults(run=_replies)
    admin("reset", "forget recorded activities and faults").set_defaults(run=_reset)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
