"""Run the local 21Vianet API, or drive a running one through its admin endpoints.

    python -m devservers.vianet --port 8765 [--token T] [--state-file var/vianet.json]
    python -m devservers.vianet close <id> [--note "Credit note issued"] [--url http://127.0.0.1:8765]
    python -m devservers.vianet status <id> attention_needed [--note ...]
    python -m devservers.vianet note <id> "We need the invoice PDF"
    python -m devservers.vianet faults throttle --count 2 [--retry-after 5] [--api subscriptions] [--method PATCH]
    python -m devservers.vianet faults none
    python -m devservers.vianet stats | reset
    python -m devservers.vianet subscriptions                  (Partner Center subscriptions: status, counters)
    python -m devservers.vianet subscription <tenant-id> <subscription-id> suspended   (as the portal would)

The admin commands only talk to this local server (default http://127.0.0.1:8765).
"""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import requests

from devservers.vianet.server import FAULT_APIS, FAULT_METHODS, FAULT_MODES, STATUSES, VianetDevServer, default_token
from devservers.vianet.subscriptions import STATUSES as SUBSCRIPTION_STATUSES

DEFAULT_ADMIN_URL = "http://127.0.0.1:8765"
ADMIN_TIMEOUT = (3.0, 10.0)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devservers.vianet",
        description="Local 21Vianet Partner Center service-request API (serves when no command is given).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (0 = any free port)")
    parser.add_argument(
        "--token", default=None, help="bearer token to accept (default $VIANET_API_TOKEN or local-dev-token)"
    )
    parser.add_argument("--state-file", type=Path, default=None, help="JSON file that keeps state across restarts")
    parser.add_argument("--log-level", default="INFO")

    commands = parser.add_subparsers(dest="command")

    def admin_command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--url", default=DEFAULT_ADMIN_URL, help=f"running server (default {DEFAULT_ADMIN_URL})")
        return sub

    close = admin_command("close", "close a service request as 21Vianet support")
    close.add_argument("id")
    close.add_argument("--note", default=None)

    status = admin_command("status", "move a service request to a status as 21Vianet support")
    status.add_argument("id")
    status.add_argument("status", choices=STATUSES)
    status.add_argument("--note", default=None)

    note = admin_command("note", "add a note from 21Vianet support")
    note.add_argument("id")
    note.add_argument("text")

    faults = admin_command("faults", "inject faults into upcoming API requests")
    faults.add_argument("mode", choices=FAULT_MODES)
    faults.add_argument("--count", type=int, default=None, help="how many requests (default: until cleared)")
    faults.add_argument("--retry-after", type=float, default=None, help="seconds, for throttle/error_503")
    faults.add_argument("--delay", type=float, default=None, help="seconds, for slow/hang")
    faults.add_argument("--api", choices=FAULT_APIS, default=None, help="only calls to this API (default: all)")
    faults.add_argument("--method", choices=FAULT_METHODS, default=None, help="only this method (default: all)")

    admin_command("subscriptions", "Partner Center subscriptions: status, etag, GET/PATCH counts")
    subscription = admin_command("subscription", "change a subscription's status as the Partner Center portal would")
    subscription.add_argument("tenant_id")
    subscription.add_argument("subscription_id")
    subscription.add_argument("status", choices=SUBSCRIPTION_STATUSES)

    admin_command("stats", "counters and every service request")
    admin_command("reset", "forget every service request, counter and fault")
    return parser


def _admin_call(method: str, url: str, payload: dict[str, Any] | None = None) -> int:
    try:
        response = requests.request(method, url, json=payload, timeout=ADMIN_TIMEOUT)
    except requests.RequestException as exc:
        print(f"error: cannot reach {url}: {type(exc).__name__}", file=sys.stderr)
        return 2
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    print(json.dumps(body, ensure_ascii=False, indent=2) if not isinstance(body, str) else body)
    return 0 if response.ok else 1


def _run_admin(args: argparse.Namespace) -> int:
    base = args.url.rstrip("/") + "/_admin"
    if args.command == "close":
        payload = {"status": "closed", **({"note": args.note} if args.note else {})}
        return _admin_call("POST", f"{base}/servicerequests/{args.id}/status", payload)
    if args.command == "status":
        payload = {"status": args.status, **({"note": args.note} if args.note else {})}
        return _admin_call("POST", f"{base}/servicerequests/{args.id}/status", payload)
    if args.command == "note":
        return _admin_call("POST", f"{base}/servicerequests/{args.id}/notes", {"text": args.text})
    if args.command == "faults":
        payload = {"mode": args.mode}
        for key, value in (("count", args.count), ("retry_after", args.retry_after), ("delay", args.delay),
                           ("api", args.api), ("method", args.method)):
            if value is not None:
                payload[key] = value
        return _admin_call("POST", f"{base}/faults", payload)
    if args.command == "stats":
        return _admin_call("GET", f"{base}/stats")
    if args.command == "reset":
        return _admin_call("POST", f"{base}/reset")
    if args.command == "subscriptions":
        return _admin_call("GET", f"{base}/subscriptions")
    if args.command == "subscription":
        return _admin_call("POST", f"{base}/subscriptions/{args.tenant_id}/{args.subscription_id}",
                           {"status": args.status})
    raise AssertionError(f"unhandled command {args.command}")


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        server = VianetDevServer(
            (args.host, args.port), token=args.token or default_token(), state_file=args.state_file
        )
    except (OSError, ValueError) as exc:
        print(f"error: cannot start: {exc}", file=sys.stderr)
        return 2

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"local 21Vianet API listening on {server.base_url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.faults.release_all()
        server.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    if args.command is None:
        return _serve(args)
    return _run_admin(args)


if __name__ == "__main__":
    sys.exit(main())
