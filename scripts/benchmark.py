"""Benchmark the running assistant over REST, on a large synthetic billing database.

Not a test: it prints figures. Run it through scripts/benchmark.sh (installs, trains if needed),
or directly from the repo root with the venv's Python:

    .venv/bin/python scripts/benchmark.py            # 5000 customers x 200 invoices (a million)
    .venv/bin/python scripts/benchmark.py --small    # 200 x 20, a quick smoke run

What it does:
  1. Migrates and seeds its own SQLite database (var/benchmark.sqlite3 for the default size,
     var/benchmark-<customers>x<invoices>.sqlite3 otherwise): the demo data plus the synthetic
     set (bot/seed_synthetic.py). The file is kept, so later runs reuse it.
  2. Starts the real action server and Rasa server (bot.launcher.Stack) on their own ports
     (5155/5105 by default, so a dev stack on 5055/5005 keeps running), with their own
     endpoints file, token secret, database and logs (var/logs/benchmark). Stops them at the end.
  3. Sends two kinds of turn, each conversation as a different synthetic customer: a greeting
     ("hello"), then an invoice lookup ("show me invoice G5...", one of that customer's real
     invoices) in the same conversation. First sequentially, then with 20 conversations at once.
     Each reply is checked (not empty; the invoice reply names the invoice, and is not a
     "couldn't find it"); failures are counted as errors.
  4. Prints latency percentiles and throughput per kind and mode, the data-set size and the machine.

The servers get BOT_TODAY=2026-11-25 (unless BOT_TODAY is set), like the test command, and a
token secret shared with this process (BOT_TOKEN_SECRET if set, else a random one per run).
Every request goes to 127.0.0.1; every loop is bounded in count and time.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import secrets
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
os.environ["RASA_TELEMETRY_ENABLED"] = "false"

import requests  # noqa: E402

GREETING = "greeting"
INVOICE = "invoice"
SMALL = (200, 20)
DEFAULT_SIZE = (5000, 200)
BENCHMARK_TODAY = "2026-11-25"  # the synthetic and demo data are dated around this day


# --- database -------------------------------------------------------------------------------------


def default_database_url(customers: int, invoices_per_customer: int) -> str:
    var = REPO_ROOT / "var"
    name = ("benchmark.sqlite3" if (customers, invoices_per_customer) == DEFAULT_SIZE
            else f"benchmark-{customers}x{invoices_per_customer}.sqlite3")
    return f"sqlite:///{var / name}"


def prepare_database(url: str, customers: int, invoices_per_customer: int) -> float | None:
    """Migrate and seed (demo + synthetic); return the seconds seeding took, None when reused."""
    from bot.db import session_scope
    from bot.db.migrate import upgrade
    from bot.seed import seed_demo
    from bot.seed_synthetic import seed_synthetic

    upgrade(url)
    started = time.monotonic()
    with session_scope(url) as session:
        seed_demo(session)
    added = seed_synthetic(customers=customers, invoices_per_customer=invoices_per_customer, url=url)
    return time.monotonic() - started if added["invoices"] else None


@dataclass
class DataSet:
    customers: int
    synthetic_customers: int
    invoices: int
    invoice_lines: int
    payments: int


def data_set_size(url: str) -> DataSet:
    from sqlalchemy import func, select

    from bot.db import session_scope
    from bot.db.models import Customer, Invoice, InvoiceLine, Payment

    def count(session, table, *where):
        return session.execute(select(func.count()).select_from(table).where(*where)).scalar_one()

    with session_scope(url) as s:
        return DataSet(customers=count(s, Customer.__table__),
                       synthetic_customers=count(s, Customer.__table__, Customer.id.like("C-S%")),
                       invoices=count(s, Invoice.__table__), invoice_lines=count(s, InvoiceLine.__table__),
                       payments=count(s, Payment.__table__))


@dataclass
class Conversation:
    sender: str
    customer_id: str
    invoice_number: str
    token: str


def pick_conversations(url: str, count: int, label: str, run_id: str, rng: random.Random,
                       customers: list[str], pool: list[str]) -> list[Conversation]:
    """`count` conversations, each with another synthetic customer (cycling when there are fewer)
    and one of that customer's real invoices."""
    from sqlalchemy import select

    from bot.db import session_scope
    from bot.db.models import Invoice
    from bot.identity import issue_token

    conversations = []
    with session_scope(url) as session:
        for i in range(count):
            customer_id = pool.pop() if pool else rng.choice(customers)
            numbers = session.scalars(select(Invoice.number).where(Invoice.customer_id == customer_id)).all()
            conversations.append(Conversation(sender=f"bench-{run_id}-{label}-{i:04d}", customer_id=customer_id,
                                              invoice_number=rng.choice(numbers),
                                              token=issue_token(customer_id, ttl=timedelta(hours=4))))
    return conversations


def synthetic_customers(url: str) -> list[str]:
    from sqlalchemy import select

    from bot.db import session_scope
    from bot.db.models import Customer

    with session_scope(url) as session:
        return list(session.scalars(select(Customer.id).where(Customer.id.like("C-S%")).order_by(Customer.id)))


# --- the turns --------------------------------------------------------------------------------------


@dataclass
class Result:
    kind: str
    mode: str
    planned: int
    latencies: list[float] = field(default_factory=list)  # seconds, successful turns only
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    wall: float = 0.0
    not_run: int = 0  # skipped because the phase ran out of time

    def record(self, latency: float, error: str | None) -> None:
        if error is None:
            self.latencies.append(latency)
        else:
            self.errors += 1
            if len(self.error_samples) < 3:
                self.error_samples.append(error)

    @property
    def done(self) -> int:
        return len(self.latencies) + self.errors


def message_for(kind: str, conv: Conversation) -> str:
    return "hello" if kind == GREETING else f"show me invoice {conv.invoice_number}"


def check_reply(kind: str, conv: Conversation, messages: object) -> str | None:
    """None when the reply is sane, else what is wrong with it."""
    if not isinstance(messages, list):
        return f"reply is not a list: {str(messages)[:80]}"
    texts = [m.get("text") or "" for m in messages if isinstance(m, dict)]
    joined = " | ".join(t for t in texts if t.strip())
    if not joined:
        return "empty reply"
    if kind == INVOICE and (conv.invoice_number not in joined or "couldn't find" in joined):
        return f"{conv.customer_id} {conv.invoice_number}: {joined[:120]}"
    return None


def send_turn(http: requests.Session, url: str, kind: str, conv: Conversation, timeout: float) -> tuple[float, str | None]:
    body = {"sender": conv.sender, "message": message_for(kind, conv), "metadata": {"customer_token": conv.token}}
    started = time.perf_counter()
    try:
        response = http.post(url, json=body, timeout=timeout)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            return elapsed, f"HTTP {response.status_code}: {response.text[:80]}"
        return elapsed, check_reply(kind, conv, response.json())
    except (requests.RequestException, ValueError) as exc:
        return time.perf_counter() - started, f"{type(exc).__name__}: {str(exc)[:80]}"


def run_phase(url: str, kind: str, mode: str, conversations: list[Conversation], concurrency: int,
              request_timeout: float, phase_timeout: float) -> Result:
    """Send one turn of `kind` in each conversation, `concurrency` at a time; bounded by count
    (one turn per conversation) and by phase_timeout (no new turn starts after it)."""
    result = Result(kind, mode, len(conversations))
    lock = threading.Lock()
    queue = iter(conversations)
    deadline = time.monotonic() + phase_timeout

    def worker() -> None:
        with requests.Session() as http:
            while True:
                with lock:
                    conv = next(queue, None)
                    if conv is None:
                        return
                    if time.monotonic() > deadline:
                        result.not_run += 1
                        continue
                latency, error = send_turn(http, url, kind, conv, request_timeout)
                with lock:
                    result.record(latency, error)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, name=f"bench-{mode}-{n}", daemon=True)
               for n in range(max(1, min(concurrency, len(conversations))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(phase_timeout + request_timeout + 5)
    result.wall = time.perf_counter() - started
    return result


# --- reporting --------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return math.nan
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def print_table(results: list[Result]) -> None:
    header = f"{'turn':<9} | {'mode':<14} | {'n':>4} | {'p50 ms':>7} | {'p95 ms':>7} | {'p99 ms':>7} | " \
             f"{'turns/s':>7} | {'errors':>6}"
    print(header)
    print("-" * len(header))
    for r in results:
        values = sorted(r.latencies)
        ms = [percentile(values, p) * 1000 for p in (50, 95, 99)]
        rate = r.done / r.wall if r.wall else math.nan
        note = f"  ({r.not_run} not run: out of time)" if r.not_run else ""
        print(f"{r.kind:<9} | {r.mode:<14} | {r.done:>4} | {ms[0]:>7.0f} | {ms[1]:>7.0f} | {ms[2]:>7.0f} | "
              f"{rate:>7.1f} | {r.errors:>6}{note}")
    samples = [(r, s) for r in results for s in r.error_samples]
    if samples:
        print("\nerror samples:")
        for r, s in samples:
            print(f"  {r.kind}/{r.mode}: {s}")


def machine_description() -> str:
    cpus = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cpus
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return f"nproc {usable} (of {cpus}){', ' + model if model else ''}; load average {load}"


def port_busy(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def database_timings(url: str, conversations: list[Conversation], today) -> list[tuple[str, float, float]]:
    """In-process timings of the queries behind the turns (no Rasa, no HTTP): p50/p95 ms."""
    from bot.billing import invoices
    from bot.db import session_scope

    checks = [("find_invoice", lambda s, c: invoices.find_invoice(s, c.customer_id, c.invoice_number)),
              ("latest_invoice", lambda s, c: invoices.latest_invoice(s, c.customer_id)),
              ("balance (all invoices)", lambda s, c: invoices.balance(s, c.customer_id, today))]
    out = []
    for name, call in checks:
        times = []
        for conv in conversations:
            started = time.perf_counter()
            with session_scope(url) as session:
                call(session, conv)
            times.append(time.perf_counter() - started)
        times.sort()
        out.append((name, percentile(times, 50) * 1000, percentile(times, 95) * 1000))
    return out


# --- main -------------------------------------------------------------------------------------------


def write_endpoints(folder: Path, action_port: int, tracker_store: str) -> Path:
    text = (f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
            'nlg:\n  type: bot.replies.nlg.CatalogueGenerator\n')
    if tracker_store == "sqlite":
        text += f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {folder / 'rasa_tracker.sqlite3'}\n"
    path = folder / "endpoints.yml"
    path.write_text(text)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=None, help=f"synthetic customers (default {DEFAULT_SIZE[0]})")
    parser.add_argument("--invoices-per-customer", type=int, default=None,
                        help=f"invoices per synthetic customer (default {DEFAULT_SIZE[1]})")
    parser.add_argument("--small", action="store_true",
                        help=f"quick smoke run: {SMALL[0]} x {SMALL[1]} data set and fewer turns")
    parser.add_argument("--database-url", default=None,
                        help="SQLAlchemy URL of the benchmark database (default var/benchmark*.sqlite3)")
    parser.add_argument("--turns", type=int, default=None, help="sequential turns per kind (default 200, --small 20)")
    parser.add_argument("--concurrent-turns", type=int, default=None,
                        help="concurrent turns per kind (default 400, --small 40)")
    parser.add_argument("--concurrency", type=int, default=20, help="conversations at once (default 20)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up conversations, not measured (default 5)")
    parser.add_argument("--rasa-port", type=int, default=5105)
    parser.add_argument("--action-port", type=int, default=5155)
    parser.add_argument("--tracker-store", choices=["sqlite", "memory"], default="sqlite",
                        help="Rasa tracker store: a fresh SQLite file like the embedded default (endpoints.yml), "
                             "or in memory (default sqlite)")
    parser.add_argument("--request-timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--phase-timeout", type=float, default=600.0,
                        help="seconds per measured phase; no new turn starts after it")
    args = parser.parse_args(argv)

    customers = args.customers or (SMALL[0] if args.small else DEFAULT_SIZE[0])
    per_customer = args.invoices_per_customer or (SMALL[1] if args.small else DEFAULT_SIZE[1])
    seq_turns = args.turns if args.turns is not None else (20 if args.small else 200)
    conc_turns = args.concurrent_turns if args.concurrent_turns is not None else (40 if args.small else 400)
    url = args.database_url or default_database_url(customers, per_customer)
    secret = os.environ.get("BOT_TOKEN_SECRET") or secrets.token_urlsafe(48)
    today = os.environ.get("BOT_TODAY") or BENCHMARK_TODAY
    # This process (tokens, seeding) and the servers share one database and one token secret.
    os.environ.update({"BOT_DATABASE_URL": url, "BOT_TOKEN_SECRET": secret, "BOT_TODAY": today})

    from bot.config import VAR_DIR, load_settings
    from bot.launcher import Stack
    from bot.model import model_path

    model = model_path()
    if not model.exists():
        print(f"No trained model at {model}: run scripts/train.sh (scripts/benchmark.sh does).", file=sys.stderr)
        return 1
    for port in (args.rasa_port, args.action_port):
        if port_busy(port):
            print(f"Port {port} is already in use; choose others with --rasa-port/--action-port.", file=sys.stderr)
            return 1

    print(f"database: {url}", flush=True)
    seed_seconds = prepare_database(url, customers, per_customer)
    size = data_set_size(url)
    if size.synthetic_customers != customers:
        print(f"note: the database holds {size.synthetic_customers:,} synthetic customers, not {customers:,} "
              f"(seeded earlier with other options); measuring what is there.")

    rng = random.Random(2026)
    customer_ids = synthetic_customers(url)
    if not customer_ids:
        print("No synthetic customers in the database.", file=sys.stderr)
        return 1
    pool = rng.sample(customer_ids, len(customer_ids))  # distinct customers until they run out
    run_id = secrets.token_hex(3)
    warmup = pick_conversations(url, args.warmup, "warmup", run_id, rng, customer_ids, pool)
    sequential = pick_conversations(url, seq_turns, "seq", run_id, rng, customer_ids, pool)
    concurrent = pick_conversations(url, conc_turns, "conc", run_id, rng, customer_ids, pool)

    timed = sequential[:100] or warmup
    try:
        db_timings = "; ".join(f"{name} p50 {p50:.1f} ms, p95 {p95:.1f} ms"
                               for name, p50, p95 in database_timings(url, timed, load_settings().today()))
    except Exception as exc:  # the domain layer changes under us: the figures are a bonus
        db_timings = f"not measured ({type(exc).__name__}: {exc})"

    def _stop(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    other_stack = port_busy(5005)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="benchmark-") as tmp:
        stack = Stack(model=model, rasa_port=args.rasa_port, action_port=args.action_port,
                      vianet_port=args.rasa_port + 3660,  # 8765 is the dev stack's
                      endpoints=write_endpoints(Path(tmp), args.action_port, args.tracker_store),
                      log_dir=VAR_DIR / "logs" / "benchmark",
                      env={"BOT_DATABASE_URL": url, "BOT_TOKEN_SECRET": secret, "BOT_TODAY": today,
                           "RASA_TELEMETRY_ENABLED": "false"})
        print(f"starting the servers (rasa :{args.rasa_port}, actions :{args.action_port}; "
              f"logs in {stack.log_dir}) ...", flush=True)
        started = time.monotonic()
        try:
            stack.start(timeout=300)
            print(f"servers ready in {time.monotonic() - started:.0f}s; model {model.name}", flush=True)
            phases = [(GREETING, "warm-up", warmup, 1), (INVOICE, "warm-up", warmup, 1),
                      (GREETING, "sequential", sequential, 1), (INVOICE, "sequential", sequential, 1),
                      (GREETING, f"concurrent x{args.concurrency}", concurrent, args.concurrency),
                      (INVOICE, f"concurrent x{args.concurrency}", concurrent, args.concurrency)]
            for kind, mode, conversations, concurrency in phases:
                if not conversations:
                    continue
                print(f"  {kind} / {mode}: {len(conversations)} turns ...", flush=True)
                result = run_phase(stack.rest_url, kind, mode, conversations, concurrency,
                                   args.request_timeout, args.phase_timeout)
                if mode != "warm-up":
                    results.append(result)
                elif result.errors:
                    print(f"    warm-up errors: {result.errors} ({result.error_samples[0]})", flush=True)
                crashed = stack.crashed()
                if crashed:
                    print(f"{crashed.name} stopped (code {crashed.process.returncode}); see {crashed.log_path}",
                          file=sys.stderr)
                    break
        except KeyboardInterrupt:
            print("interrupted; stopping the servers", file=sys.stderr)
            return 130
        except RuntimeError as exc:
            print(f"could not run the benchmark: {exc}", file=sys.stderr)
            return 1
        finally:
            stack.stop()

    print()
    print(f"data set: {size.customers:,} customers ({size.synthetic_customers:,} synthetic), "
          f"{size.invoices:,} invoices, {size.invoice_lines:,} invoice lines, {size.payments:,} payments")
    print("seeding: " + (f"{seed_seconds:.0f}s this run" if seed_seconds is not None else "reused (already seeded)"))
    print(f"database: {url}; Rasa tracker store: {args.tracker_store}")
    print(f"machine: {machine_description()}")
    if other_stack:
        print("note: another assistant is listening on port 5005 and shares these CPUs")
    print(f"in-process queries ({len(timed)} customers, one session each): {db_timings}")
    print()
    print_table(results)
    total_errors = sum(r.errors for r in results)
    print(f"\nerrors: {total_errors} of {sum(r.done for r in results)} turns"
          f" (n = turns sent; percentiles over successful turns; turns/s = n / wall time of the phase)")
    return 0 if total_errors == 0 else 2


if __name__ == "__main__":
    sys.exit(main())
