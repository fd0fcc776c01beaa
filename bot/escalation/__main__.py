"""Escalation commands: the worker, and the partner-staff queue.

    python -m bot.escalation worker [--once] [--notify-hook package.module:function]
    python -m bot.escalation queue [--partner P-01] [--csv]
    python -m bot.escalation show ESC-7K3M9Q --partner P-01
    python -m bot.escalation note ESC-7K3M9Q "Called the customer" --partner P-01
    python -m bot.escalation resolve ESC-7K3M9Q --partner P-01 [--note "Refund paid"]
    python -m bot.escalation retry ESC-7K3M9Q --partner P-01      (send a queued one to 21Vianet again)
    python -m bot.escalation notifications --partner P-01         (who was told what, and when)

The worker reads BOT_DATABASE_URL, VIANET_API_URL, VIANET_API_TOKEN and the ESCALATION_* settings
(bot/config.py), and PARTNER_CENTER_* for subscription changes; it stops cleanly on SIGTERM or Ctrl-C.
"""
from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime


def _when(value: datetime | None) -> str:
    return value.isoformat(sep=" ", timespec="seconds") + " UTC" if value else "-"


def _worker(args: argparse.Namespace) -> int:
    from bot.escalation.worker import load_notify_hook, run_worker
    from bot.redaction import install

    install()  # no token or secret in the worker's log
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    notify = load_notify_hook(args.notify_hook) if args.notify_hook else None
    return run_worker(notify=notify, once=args.once)


def _queue(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.escalation.records import export_partner_queue_csv, partner_queue

    with session_scope() as session:
        if args.csv:
            sys.stdout.write(export_partner_queue_csv(session, args.partner))
            return 0
        items = partner_queue(session, args.partner)
    if not items:
        print("The partner-staff queue is empty.")
        return 0
    for item in items:
        e = item.escalation
        amount = f"  {e.amount} {e.currency}" if e.amount is not None else ""
        print(f"{e.reference}  {_when(e.created_at)}  {e.partner_id}  {e.customer_id} {item.customer_name}  "
              f"{e.kind}  {e.invoice_number or '-'}{amount}")
        print(f"    {e.summary}")
        print(f"    why: {item.reason}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.escalation.records import escalation_history

    with session_scope() as session:
        events = escalation_history(session, args.reference, args.partner)
    if events is None:
        print(f"No escalation {args.reference} for partner {args.partner}.", file=sys.stderr)
        return 1
    for event in events:
        print(f"{_when(event.at)}  {event.kind:<22} {event.detail or ''}")
    return 0


def _change(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.escalation import records

    try:
        with session_scope() as session:
            if args.command == "note":
                view = records.add_partner_note(session, args.reference, args.partner, args.text)
            elif args.command == "resolve":
                view = records.resolve_by_partner(session, args.reference, args.partner, args.note)
            else:
                view = records.requeue_for_vianet(session, args.reference, args.partner)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if view is None:
        print(f"No escalation {args.reference} for partner {args.partner}.", file=sys.stderr)
        return 1
    print(f"{view.reference}: {view.state}")
    return 0


def _notifications(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.escalation.records import notifications_for_partner

    with session_scope() as session:
        rows = notifications_for_partner(session, args.partner)
    for n in rows:
        answer = {True: "solved", False: "not solved", None: "no answer"}[n.acknowledged]
        print(f"{n.reference}  {n.customer_id} {n.customer_name}  conversation {n.conversation_id or '-'}  "
              f"created {_when(n.created_at)}  pushed {_when(n.delivered_at)}  shown {_when(n.shown_at)}  {answer}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.escalation", description="Escalations to 21Vianet")
    sub = parser.add_subparsers(dest="command", required=True)

    worker = sub.add_parser("worker", help="relay escalations to 21Vianet and follow them (loop)")
    worker.add_argument("--once", action="store_true", help="run one pass and exit")
    worker.add_argument("--notify-hook", default=None, help="package.module:function that pushes notifications")
    worker.add_argument("--log-level", default="INFO")
    worker.set_defaults(func=_worker)

    queue = sub.add_parser("queue", help="escalations partner staff must handle")
    queue.add_argument("--partner", default=None, help="only this partner (default: every partner)")
    queue.add_argument("--csv", action="store_true", help="CSV on stdout")
    queue.set_defaults(func=_queue)

    show = sub.add_parser("show", help="the history of one escalation")
    show.add_argument("reference")
    show.add_argument("--partner", required=True)
    show.set_defaults(func=_show)

    note = sub.add_parser("note", help="add a note (also sent to the 21Vianet ticket)")
    note.add_argument("reference")
    note.add_argument("text")
    note.add_argument("--partner", required=True)
    note.set_defaults(func=_change)

    resolve = sub.add_parser("resolve", help="close it as resolved by partner staff and tell the customer")
    resolve.add_argument("reference")
    resolve.add_argument("--partner", required=True)
    resolve.add_argument("--note", default=None)
    resolve.set_defaults(func=_change)

    retry = sub.add_parser("retry", help="send a queued escalation to 21Vianet again")
    retry.add_argument("reference")
    retry.add_argument("--partner", required=True)
    retry.set_defaults(func=_change)

    notifications = sub.add_parser("notifications", help="who was told about which escalation, and when")
    notifications.add_argument("--partner", required=True)
    notifications.set_defaults(func=_notifications)

    args = parser.parse_args(argv)
    from bot.config import ConfigError

    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
