"""Fapiao requests for partner staff, until the partner desk channels take them over.

    python -m bot.fapiao list P-01                                 open requests, oldest first
    python -m bot.fapiao show FP-7K3M9Q --partner P-01             one request and its history
    python -m bot.fapiao issue FP-7K3M9Q --partner P-01 --number 26312000000012345678 [--date 2026-11-26]
    python -m bot.fapiao reject FP-7K3M9Q --partner P-01 --reason buyer_details_mismatch [--note "..."]
    python -m bot.fapiao policy P-01 [--business-days 3] [--special yes|no] [--paper yes|no] [--note "..."]

`issue` and `reject` record who did it (`--by`, default the login name) and tell the customer on
their next turn. Reads BOT_DATABASE_URL and BOT_TODAY (bot/config.py).
"""
from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date

from bot.fapiao.models import REJECT_REASONS

# The staff-facing words for the codes of bot/fapiao/staff.py (the CLI is for partner staff only).
_PROBLEMS = {
    "already_issued": "it is already issued (with another number or date)",
    "already_rejected": "it is already rejected",
    "date_in_future": "the issue date is after today",
    "number_in_use": "another request was issued with that fapiao number",
    "unknown_reason": f"the reason must be one of: {', '.join(REJECT_REASONS)}",
    "note_required": "reason 'other' needs --note",
    "number_empty": "the fapiao number is empty",
    "number_not_digits": "a fapiao number has digits only",
    "number_wrong_length": "a 数电票 number has 20 digits, a paper fapiao number 8",
    "number_year_mismatch": "a 数电票 number starts with the two digits of the year it was issued",
}


def _today() -> date:
    from bot.config import load_settings

    return load_settings().today()


def _not_found(reference: str, partner: str) -> int:
    print(f"No fapiao request {reference} for partner {partner}.", file=sys.stderr)
    return 1


def _list(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.fapiao.staff import fapiao_queue

    with session_scope() as session:
        items = fapiao_queue(session, args.partner_id, _today())
    if not items:
        print(f"No open fapiao requests for {args.partner_id}.")
        return 0
    for item in items:
        r = item.request
        late = "  OVERDUE" if item.overdue else ""
        print(f"{r.reference}  {r.requested_on}  age {item.age_days}d  due {r.due_by}{late}  "
              f"{r.customer_id} {item.customer_name}  {r.invoice_number}  {r.amount} {r.currency}  "
              f"{r.fapiao_type}/{r.form}")
        print(f"    {r.title}  {r.tax_id}  -> {r.email}")
        if r.fapiao_type == "special":
            print(f"    {r.bank_name} {r.bank_account}  {r.address} {r.phone}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.fapiao.staff import request_for_partner, request_history

    with session_scope() as session:
        request = request_for_partner(session, args.reference, args.partner)
        events = request_history(session, args.reference, args.partner)
    if request is None:
        return _not_found(args.reference, args.partner)
    r = request
    print(f"{r.reference}  {r.state}  {r.customer_id}  {r.invoice_number}  {r.amount} {r.currency}  "
          f"{r.fapiao_type}/{r.form}  requested {r.requested_on}  due {r.due_by}")
    print(f"    {r.title}  {r.tax_id}  -> {r.email}")
    if r.fapiao_number:
        print(f"    fapiao {r.fapiao_number} issued {r.issued_on}")
    if r.reject_reason:
        print(f"    rejected: {r.reject_reason}{'  ' + r.staff_note if r.staff_note else ''}")
    for event in events:
        facts = "  ".join(f"{k}={v}" for k, v in event.detail.items())
        print(f"{event.at.isoformat(sep=' ', timespec='seconds')} UTC  {event.kind:<17} {event.actor}  {facts}")
    return 0


def _change(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.fapiao import staff

    try:
        with session_scope() as session:
            if args.command == "issue":
                view = staff.issue_request(session, args.reference, args.partner, number=args.number,
                                           staff_name=args.by, today=_today(), issued_on=args.date)
            else:
                view = staff.reject_request(session, args.reference, args.partner, reason=args.reason,
                                            staff_name=args.by, note=args.note)
    except staff.FapiaoError as exc:
        print(f"error: {args.reference}: {_PROBLEMS.get(exc.code, exc.code)} ({exc.code})", file=sys.stderr)
        return 1
    except ValueError as exc:  # e.g. an empty --by
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if view is None:
        return _not_found(args.reference, args.partner)
    detail = f"  {view.fapiao_number} {view.issued_on}" if view.fapiao_number else f"  {view.reject_reason}"
    print(f"{view.reference}: {view.state}{detail}")
    return 0


def _policy(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.fapiao.policy import fapiao_policy, set_fapiao_policy

    changes = {name: value for name, value in (("issue_business_days", args.business_days),
                                               ("offers_special", args.special), ("offers_paper", args.paper))
               if value is not None}
    if args.note is not None:
        changes["note"] = args.note
    try:
        with session_scope() as session:
            policy = set_fapiao_policy(session, args.partner_id, **changes) if changes else \
                fapiao_policy(session, args.partner_id)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if policy is None:
        print(f"{args.partner_id} has no fapiao policy: it takes no fapiao requests. "
              f"Set one with --business-days N.", file=sys.stderr)
        return 1
    print(f"{policy.partner_id} {policy.partner_name}: issues within {policy.issue_business_days} business days; "
          f"special {'yes' if policy.offers_special else 'no'}; paper {'yes' if policy.offers_paper else 'no'}; "
          f"note {policy.note or '-'}")
    return 0


def _yes_no(text: str) -> bool:
    if text.lower() in ("yes", "y", "true", "1"):
        return True
    if text.lower() in ("no", "n", "false", "0"):
        return False
    raise argparse.ArgumentTypeError("yes or no")


def _default_staff_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): the audit still says it was the CLI
        return "cli"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.fapiao", description="Fapiao requests (partner staff)")
    sub = parser.add_subparsers(dest="command", required=True)

    listing = sub.add_parser("list", help="the partner's open fapiao requests, oldest first")
    listing.add_argument("partner_id")
    listing.set_defaults(func=_list)

    show = sub.add_parser("show", help="one request and its history")
    show.add_argument("reference")
    show.add_argument("--partner", required=True)
    show.set_defaults(func=_show)

    issue = sub.add_parser("issue", help="mark it issued with the fapiao's number (and date) and tell the customer")
    issue.add_argument("reference")
    issue.add_argument("--partner", required=True)
    issue.add_argument("--number", required=True, help="20 digits for a 数电票, 8 for a paper fapiao")
    issue.add_argument("--date", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)")
    issue.add_argument("--by", default=_default_staff_name(), help="who issued it (default: your login name)")
    issue.set_defaults(func=_change)

    reject = sub.add_parser("reject", help="reject it with a reason and tell the customer")
    reject.add_argument("reference")
    reject.add_argument("--partner", required=True)
    reject.add_argument("--reason", required=True, choices=REJECT_REASONS)
    reject.add_argument("--note", default=None, help="your words for the customer, shown as written")
    reject.add_argument("--by", default=_default_staff_name(), help="who rejected it (default: your login name)")
    reject.set_defaults(func=_change)

    policy = sub.add_parser("policy", help="show or change the partner's fapiao policy")
    policy.add_argument("partner_id")
    policy.add_argument("--business-days", type=int, default=None, help="business days to issue a fapiao")
    policy.add_argument("--special", type=_yes_no, default=None, help="offer special fapiao (yes/no)")
    policy.add_argument("--paper", type=_yes_no, default=None, help="offer paper fapiao (yes/no)")
    policy.add_argument("--note", default=None, help="the partner's note for customers (empty removes it)")
    policy.set_defaults(func=_policy)

    args = parser.parse_args(argv)
    from bot.config import ConfigError

    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
