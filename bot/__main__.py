"""Project commands: `python -m bot <command>`. Run inside the project's virtual environment.

  token C-1001 [--minutes N]   print a signed customer token for a seeded customer
  staff-token P-01 "Mei Chen"  print a partner-staff token for REST (--role read_only to look only)
  agent-token P-01 "Ana Agent" print a bearer token for the agent console's API (development)
  handoff report [--partner P-01]  waiting/claimed/closed, first-response times, breaches, satisfaction
  migrate                      bring the database to the newest schema (Alembic)
  seed [--synthetic ...]       add the demo data (idempotent); optionally a large synthetic set
  model-name / model-path      the model name/path for the current training inputs
  model-ready                  exit 0 when that model exists, 1 when training is needed
  status [--file var/status.json]  the launcher's processes; exit 1 when one is down or crash-looping
"""
from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

from bot.config import VAR_DIR


def _token(args: argparse.Namespace) -> int:
    from bot.billing.invoices import customer_name
    from bot.db import session_scope
    from bot.identity import issue_token

    with session_scope() as session:
        if customer_name(session, args.customer_id) is None:
            print(f"No customer {args.customer_id} in the database. Seed it first: python -m bot seed",
                  file=sys.stderr)
            return 2
    print(issue_token(args.customer_id, ttl=timedelta(minutes=args.minutes) if args.minutes else None))
    return 0


def _staff_token(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.db.models import Partner
    from bot.identity import issue_staff_token

    with session_scope() as session:
        if session.get(Partner, args.partner_id) is None:
            print(f"No partner {args.partner_id} in the database. Seed it first: python -m bot seed", file=sys.stderr)
            return 2
    print(issue_staff_token(args.partner_id, args.name, role=args.role))
    return 0


def _migrate(_: argparse.Namespace) -> int:
    from bot.db.migrate import upgrade

    upgrade()
    print("database schema is up to date")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.seed import seed_demo

    with session_scope() as session:
        added = seed_demo(session)
    print(f"demo data: {added} rows added" if added else "demo data: already present")
    if args.synthetic:
        from bot.seed_synthetic import seed_synthetic

        seed_synthetic(customers=args.customers, invoices_per_customer=args.invoices_per_customer)
    return 0


def _model(args: argparse.Namespace) -> int:
    from bot.model import model_name, model_path

    if args.command == "model-name":
        print(model_name())
        return 0
    if args.command == "model-path":
        print(model_path())
        return 0
    return 0 if model_path().exists() else 1


def _status(args: argparse.Namespace) -> int:
    from bot.supervisor import describe_status

    text, ok = describe_status(args.file)
    print(text)
    return 0 if ok else 1


def _chat(args: argparse.Namespace) -> int:
    from bot.chat import chat

    return chat(args.url, customer_id=args.customer_id, staff=(args.staff[0], args.staff[1]) if args.staff else None)


def _agent_token(args: argparse.Namespace) -> int:
    from bot.config import DEV_ENVIRONMENTS, load_settings
    from bot.db import session_scope
    from bot.handoff.agents import agent_named, issue_agent_token

    if load_settings().environment not in DEV_ENVIRONMENTS:
        print("agent-token is for development: agents sign in to the console", file=sys.stderr)
        return 2
    with session_scope() as session:
        agent = agent_named(session, args.partner_id, args.name)
        if agent is None:
            print(f"No active support agent {args.name!r} of partner {args.partner_id}. Seed the demo data "
                  "first: python -m bot seed", file=sys.stderr)
            return 2
        print(issue_agent_token(agent))
    return 0


def _handoff(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.handoff.report import handoff_report

    with session_scope() as session:
        print("\n".join(handoff_report(session, args.partner).lines()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Billing help desk commands")
    sub = parser.add_subparsers(dest="command", required=True)
    token = sub.add_parser("token", help="print a customer token")
    token.add_argument("customer_id")
    token.add_argument("--minutes", type=int, default=None, help="lifetime (default BOT_TOKEN_TTL_MINUTES)")
    token.set_defaults(func=_token)
    staff = sub.add_parser("staff-token", help="print a partner-staff token (metadata.partner_token)")
    staff.add_argument("partner_id")
    staff.add_argument("name")
    staff.add_argument("--role", choices=("billing_admin", "read_only"), default="billing_admin",
                       help="what the token may do (default billing_admin)")
    staff.set_defaults(func=_staff_token)
    agent = sub.add_parser("agent-token", help="print a support agent's bearer token for the console API")
    agent.add_argument("partner_id")
    agent.add_argument("name")
    agent.set_defaults(func=_agent_token)
    handoff = sub.add_parser("handoff", help="human handoff: `report` prints the support team's figures")
    handoff.add_argument("what", choices=("report",))
    handoff.add_argument("--partner", default=None, help="one partner (default: all)")
    handoff.set_defaults(func=_handoff)
    talk = sub.add_parser("chat", help="talk to the running assistant in this terminal, signed in")
    talk.add_argument("customer_id", nargs="?", help="speak as this customer (e.g. C-1001); omit for anonymous")
    talk.add_argument("--staff", nargs=2, metavar=("PARTNER_ID", "NAME"), help="speak as partner staff instead")
    talk.add_argument("--url", default="http://127.0.0.1:5005/webhooks/rest/webhook")
    talk.set_defaults(func=_chat)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_migrate)
    seed = sub.add_parser("seed", help="seed demo data (idempotent)")
    seed.add_argument("--synthetic", action="store_true", help="also add a large synthetic data set")
    seed.add_argument("--customers", type=int, default=5000)
    seed.add_argument("--invoices-per-customer", type=int, default=200)
    seed.set_defaults(func=_seed)
    for name in ("model-name", "model-path", "model-ready"):
        sub.add_parser(name).set_defaults(func=_model)
    status = sub.add_parser("status", help="what the launcher (scripts/run.sh) is running")
    status.add_argument("--file", type=Path, default=VAR_DIR / "status.json")
    status.set_defaults(func=_status)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
