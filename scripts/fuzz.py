"""Fuzz the assistant over REST with a generated corpus, and print what happened.

Not a test: it prints figures (tests/e2e/test_fuzz.py runs a short version of it). Run it through
scripts/fuzz.sh (installs, trains if needed), or from the repo root with the venv's Python:

    .venv/bin/python scripts/fuzz.py                          # 4000 requests, seed 2026
    .venv/bin/python scripts/fuzz.py --requests 300 --seed 7

What it does:
  1. Seeds a fresh demo database in var/fuzz/ and starts its own stack (bot.launcher.Stack: Rasa
     :5305, actions :5355, local 21Vianet API :8965, the worker; logs in var/fuzz/logs), supervised,
     so a crash shows up as a restart.
  2. Sends every attack class of issue 11 once (malformed bodies, senders, metadata and messages,
     typed commands, oversized messages and bodies, spoofed channel and caller, forged tokens,
     another customer's token in a conversation), then requests drawn by Hypothesis strategies
     for message text, sender ids, metadata and tokens. Most are signed as one of the demo
     customers C-1001..C-1004, some as partner staff, some anonymous, in fresh and reused
     conversations.
  3. Checks every reply for leaks: another customer's invoice numbers, payment or escalation
     references, name, id or distinctive amounts (read from the database, formatted like the bot
     does) that the conversation did not type itself.
  4. Prints requests by status, empty replies, connection errors, restarts, leaks, Rasa's memory
     before and after, the slowest turn and latency percentiles.

Exit status: 0 when clean; 2 on any 5xx, empty reply, connection error, crash or restart, or leak;
1 when it could not run. Every request has a timeout; every loop is bounded in count and time.
"""
from __future__ import annotations

import argparse
import ast
import json
import math
import os
import re
import secrets
import shutil
import signal
import statistics
import sys
import threading
import time
import unicodedata
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
os.environ["RASA_TELEMETRY_ENABLED"] = "false"

import jwt  # noqa: E402
import requests  # noqa: E402
import yaml  # noqa: E402
from hypothesis import HealthCheck, Phase, given  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ANON, STAFF = "anonymous", "staff"
CUSTOMERS = ("C-1001", "C-1002", "C-1003", "C-1004")
STAFF_PARTNER, STAFF_NAME = "P-01", "Mei Chen"
CUSTOMER_KEY, STAFF_KEY = "customer_token", "partner_token"
JSON_HEADERS = {"Content-Type": "application/json"}
FUZZ_TODAY = "2026-11-25"  # the demo data are dated around this day
RASA = "rasa server"
TOKEN_PATTERN = re.compile(r"eyJ[\w-]*\.[\w-]*(?:\.[\w-]*)?")

# --- leak detection ---------------------------------------------------------------------------------


def _plain(text: str) -> str:
    """What the channel keeps of typed text (no control characters), in NFKC so that full-width
    digits the user typed compare equal to the bot's."""
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C") or ch in "\n\t")
    return unicodedata.normalize("NFKC", text)


def _numbers(text: str) -> set[Decimal]:
    found = set()
    for raw in re.findall(r"\d[\d,]*(?:\.\d+)?", text):
        try:
            found.add(Decimal(raw.replace(",", "")))
        except InvalidOperation:
            pass
    return found


@dataclass(frozen=True)
class Marker:
    text: str  # as it would appear in a reply
    owners: frozenset[str]  # customer ids, or "partner:<id>"
    value: Decimal | None = None  # amounts: the user may have typed it in another format
    pattern: re.Pattern = field(compare=False, default=None)


class LeakDetector:
    """Account data per owner, from the billing database: a reply leaks when it shows data that
    is not the viewer's and that the conversation did not type itself."""

    def __init__(self, markers: list[Marker], own_values: dict[str, set[Decimal]], partner_of: dict[str, str],
                 public_fragments: Iterable[str]):
        self.markers = markers
        self.own_values = own_values  # amounts a customer may be told: its own, and what is computed from them
        self.partner_of = partner_of
        self.public_fragments = sorted(set(public_fragments), key=len, reverse=True)

    @classmethod
    def from_database(cls, database_url: str, domain_path: Path = REPO_ROOT / "domain.yml") -> LeakDetector:
        from sqlalchemy import select

        from bot.billing.invoices import balance
        from bot.config import load_settings
        from bot.db import session_scope
        from bot.db.models import Customer, Invoice, PartnerInvoice
        from bot.escalation.models import Escalation
        from bot.replies.catalogue import Phrases

        settings = load_settings()
        today = settings.today()
        refs: dict[str, set[str]] = defaultdict(set)
        names: dict[str, set[str | None]] = defaultdict(set)
        amounts: dict[tuple[str, str], set[str]] = defaultdict(set)  # (formatted number, currency) -> owners
        values: dict[str, set[Decimal]] = defaultdict(set)
        derived: dict[str, set[Decimal]] = defaultdict(set)
        partner_of: dict[str, str] = {}

        def amount(owner: str, value: Decimal | None, currency: str) -> None:
            if value:
                amounts[(_number_part(Phrases("en", settings).money(abs(value), currency)), currency)].add(owner)
                values[owner].add(abs(value))

        with session_scope(database_url) as session:
            for customer in session.scalars(select(Customer)):
                cid = customer.id
                partner_of[cid] = customer.partner_id
                refs[cid].add(cid)
                names[cid].add(_distinctive_word(customer.name))  # "Contoso" also finds "Contoso Ltd"
                invoices = session.scalars(select(Invoice).where(Invoice.customer_id == cid)).all()
                lines: dict[str, list[Decimal]] = defaultdict(list)
                for invoice in invoices:
                    refs[cid].add(invoice.number)
                    amount(cid, invoice.total, invoice.currency)
                    for line in invoice.lines:
                        amount(cid, line.amount, invoice.currency)
                        lines[line.description].append(line.amount)
                    for payment in invoice.payments:
                        refs[cid].add(payment.reference)
                        amount(cid, payment.amount, invoice.currency)
                    derived[cid].add(sum((p.amount for p in invoice.payments), Decimal(0)))
                # What the bot computes from them: how a bill or a charge changed, payments in total.
                derived[cid] |= _differences([i.total for i in invoices])
                for same_charge in lines.values():
                    derived[cid] |= _differences(same_charge)
                bal = balance(session, cid, today)
                for value in (bal.outstanding, bal.overdue, bal.credit, bal.net):
                    amount(cid, value, bal.currency)
            for esc in session.scalars(select(Escalation)):
                refs[esc.customer_id].add(esc.reference)
                amount(esc.customer_id, esc.amount, esc.currency or "CNY")
            for pv in session.scalars(select(PartnerInvoice)):
                owner = f"partner:{pv.partner_id}"
                refs[owner].add(pv.number)
                amount(owner, pv.total, pv.currency)

        markers = [Marker(ref, frozenset([owner]), pattern=_word_pattern(ref))
                   for owner, found in refs.items() for ref in found]
        markers += [Marker(name, frozenset([owner]), pattern=_word_pattern(name))
                    for owner, found in names.items() for name in found if name]
        markers += [Marker(number, frozenset(owners), Decimal(number.replace(",", "")), _amount_pattern(number))
                    for (number, _currency), owners in amounts.items() if _is_plain_number(number)]
        own = {owner: vals | derived[owner] for owner, vals in values.items()}
        return cls(markers, own, partner_of, _public_fragments(domain_path, markers))

    def allowed(self, viewer: str) -> set[str]:
        """Whose data the viewer may see: a customer its own; staff their partner's customers."""
        if viewer == ANON:
            return set()
        if viewer == STAFF:
            return {c for c, p in self.partner_of.items() if p == STAFF_PARTNER} | {f"partner:{STAFF_PARTNER}"}
        return {viewer}

    def without_public_wording(self, reply: str) -> str:
        for fragment in self.public_fragments:  # e.g. the help text's "for example G000100002"
            reply = reply.replace(fragment, " ")
        return reply

    def shows_account_data(self, reply: str) -> bool:
        reply = self.without_public_wording(reply)
        return any(m.pattern.search(reply) for m in self.markers)

    def leaks(self, viewer: str, typed: Iterable[str], reply: str) -> list[tuple[str, str]]:
        """(marker, owner) of what `reply` shows that `viewer` may not see. `typed`: every text
        sent in the conversation so far (the bot may repeat what the user typed)."""
        if not reply:
            return []
        reply = self.without_public_wording(reply)
        plain = _plain(" ".join(typed))
        compact = re.sub(r"[\s\-]", "", plain).upper()
        typed_numbers = _numbers(plain)
        allowed = self.allowed(viewer)
        own_values = self.own_values.get(viewer, set()) if viewer not in (ANON, STAFF) else set()
        found = []
        for marker in self.markers:
            if marker.owners & allowed or not marker.pattern.search(reply):
                continue
            if marker.value is not None:
                if marker.value in typed_numbers or marker.value in own_values:
                    continue
            elif re.sub(r"[\s\-]", "", marker.text).upper() in compact:
                continue
            found.append((marker.text, ",".join(sorted(marker.owners))))
        return found


def _number_part(formatted: str) -> str:
    match = re.search(r"\d[\d.,\u00a0\u202f' ]*\d", formatted)
    return match.group(0) if match else formatted


def _is_plain_number(number: str) -> bool:
    return bool(re.fullmatch(r"\d{1,3}(?:,\d{3})*\.\d{2}", number))


def _amount_pattern(number: str) -> re.Pattern:
    return re.compile(r"(?<![\d.,])" + re.escape(number) + r"(?!\d)")


def _word_pattern(text: str) -> re.Pattern:
    return re.compile(r"(?<![A-Za-z0-9])" + re.escape(text) + r"(?![A-Za-z0-9])")


def _distinctive_word(name: str) -> str | None:
    words = [w for w in re.findall(r"[A-Za-z0-9]+", name) if len(w) > 3]
    return words[0] if words else None


def _differences(values: list[Decimal]) -> set[Decimal]:
    return {abs(a - b) for i, a in enumerate(values) for b in values[i + 1:]}


def _public_fragments(domain_path: Path, markers: list[Marker]) -> list[str]:
    """Fixed wording that contains account-like data, the same for everyone and so never a leak:
    the reply catalogue and the string constants of the code that replies ("for example
    G000100002"). A bare marker is not wording: it would hide that marker everywhere."""
    from bot.replies.catalogue import catalogue
    from bot.replies.language import LANGUAGES

    texts: list[str] = []
    for language in LANGUAGES:
        for entry in catalogue(language).values():
            if isinstance(entry, dict):
                texts += [str(v) for v in entry.values() if isinstance(v, str)] + [str(entry.get("text", ""))]
            else:
                texts.append(str(entry))
    for path in [*(REPO_ROOT / "actions").rglob("*.py"), *(REPO_ROOT / "bot").rglob("*.py")]:
        if "seed" in path.name:  # the demo data themselves
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue
        texts += [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    fragments = []
    for text in texts:
        for fragment in re.split(r"\{[^{}]*\}", text):
            hits = [m for m in markers if m.pattern.search(fragment)]
            if hits and len(fragment.strip()) > max(len(m.text) for m in hits) + 10:
                fragments.append(fragment)
    return fragments


def response_text(key: str) -> str:
    """The fixed English text of a reply (up to its first placeholder), to recognise it in replies."""
    from bot.replies.catalogue import catalogue

    text = catalogue("en").get(key, "")
    return re.split(r"\{[^{}]*\}", text)[0].strip() if isinstance(text, str) else ""


# --- requests and outcomes --------------------------------------------------------------------------


@dataclass
class Probe:
    kind: str  # "family/detail"
    body: Any = None  # a JSON value, encoded with json.dumps (lone surrogates become \ud800 escapes)
    raw: bytes | None = None  # sent as is instead of `body`
    viewer: str = ANON  # who the assistant should take the caller to be: a customer id, STAFF or ANON
    expect: tuple[int, ...] = ()  # the statuses this class should get, when it has a definite answer

    @property
    def sender(self) -> str | None:
        sender = self.body.get("sender") if isinstance(self.body, dict) else None
        return sender if isinstance(sender, str) else None

    @property
    def text(self) -> str:
        message = self.body.get("message") if isinstance(self.body, dict) else None
        return message if isinstance(message, str) else ""

    def describe(self, limit: int = 240) -> str:
        shown = self.raw.decode("utf-8", "backslashreplace") if self.raw is not None else json.dumps(self.body)
        shown = TOKEN_PATTERN.sub("<token>", shown)
        return shown if len(shown) <= limit else f"{shown[:limit]}... ({len(shown)} chars)"


@dataclass
class Outcome:
    kind: str
    status: int | None  # None: no HTTP answer
    ms: float
    error: str | None = None  # connection error or timeout
    empty: bool = False  # a 200 without any text
    json_error: bool = True  # a 4xx with the channel's {"error", "message"} body
    leaks: list[tuple[str, str]] = field(default_factory=list)

    @property
    def family(self) -> str:
        return self.kind.split("/", 1)[0]


@dataclass
class Turn:
    """What the leak check needs of a 200: checked after the run, against the final database
    (escalations filed during the run have references too)."""
    index: int
    viewer: str
    typed: tuple[str, ...]
    reply: str
    request: str


@dataclass
class ServiceState:
    pid: int | None
    restarts: int
    alive: bool


def service_states(stack: Any) -> dict[str, ServiceState]:
    states = {}
    for service in stack.services:
        process = getattr(service, "process", None)
        states[service.name] = ServiceState(process.pid if process else None,
                                            int(getattr(service, "restarts", 0) or 0),
                                            process is not None and process.poll() is None)
    return states


def rss_kb(pid: int | None) -> int | None:
    if not pid:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def percentile(values: list[float], p: int) -> float:
    """Linear between closest ranks, like numpy's default; p in 1..99."""
    if len(values) < 2:
        return values[0] if values else math.nan
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


@dataclass
class FuzzReport:
    planned: int
    seed: int
    outcomes: list[Outcome] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)  # examples, with the request
    checked: Counter = field(default_factory=Counter)  # replies checked for leaks, by viewer kind
    slowest: tuple[float, str] = (0.0, "")
    services_before: dict[str, ServiceState] = field(default_factory=dict)
    services_after: dict[str, ServiceState] = field(default_factory=dict)
    rss_before_kb: int | None = None
    rss_after_kb: int | None = None
    rss_peak_kb: int | None = None
    crash_suspects: list[str] = field(default_factory=list)  # the request after which Rasa was gone
    unexpected: list[str] = field(default_factory=list)  # a status other than the class's expected one
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # examples per problem
    not_run: int = 0
    aborted: str | None = None
    wall: float = 0.0
    still_valid_mutations: int = 0

    def count(self, predicate: Callable[[Outcome], bool]) -> int:
        return sum(1 for o in self.outcomes if predicate(o))

    @property
    def server_errors(self) -> int:
        return self.count(lambda o: o.status is not None and o.status >= 500)

    @property
    def empty_replies(self) -> int:
        return self.count(lambda o: o.empty)

    @property
    def connection_errors(self) -> int:
        return self.count(lambda o: o.error is not None)

    @property
    def leak_count(self) -> int:
        return sum(len(o.leaks) for o in self.outcomes)

    def restarts(self) -> dict[str, int]:
        """Restarts per service during the run: the supervisor's count, or at least 1 when the
        process changed or died."""
        counts = {}
        for name, before in self.services_before.items():
            after = self.services_after.get(name, before)
            counted = after.restarts - before.restarts
            changed = after.pid != before.pid or (before.alive and not after.alive)
            counts[name] = max(counted, 1 if changed else 0)
        return counts

    @property
    def rasa_same_process(self) -> bool:
        before, after = self.services_before.get(RASA), self.services_after.get(RASA)
        return bool(before and after and after.alive and after.pid == before.pid)

    def failures(self) -> list[str]:
        failed = []
        if self.server_errors:
            failed.append(f"{self.server_errors} 5xx")
        if self.empty_replies:
            failed.append(f"{self.empty_replies} empty replies")
        if self.connection_errors:
            failed.append(f"{self.connection_errors} connection errors or timeouts")
        restarted = {n: c for n, c in self.restarts().items() if c}
        if restarted:
            failed.append("restarts: " + ", ".join(f"{n} {c}" for n, c in restarted.items()))
        if not self.rasa_same_process:
            failed.append("the Rasa server is not the process it was")
        if self.leak_count:
            failed.append(f"{self.leak_count} leaks")
        if self.aborted:
            failed.append(f"aborted: {self.aborted}")
        return failed

    def table(self, examples: int = 3) -> str:
        rows = []
        header = (f"{'class':<12} | {'n':>5} | {'2xx':>5} | {'4xx':>5} | {'5xx':>4} | {'empty':>5} | {'conn':>4} | "
                  f"{'leaks':>5} | {'p50 ms':>6} | {'p95 ms':>6} | {'max ms':>6}")
        rows += [header, "-" * len(header)]
        families = sorted({o.family for o in self.outcomes}, key=lambda f: (f.startswith("hyp"), f))
        for family in [*families, "total"]:
            group = [o for o in self.outcomes if family == "total" or o.family == family]
            if family == "total":
                rows.append("-" * len(header))
            times = sorted(o.ms for o in group)
            rows.append(
                f"{family:<12} | {len(group):>5} | {sum(1 for o in group if o.status and 200 <= o.status < 300):>5} | "
                f"{sum(1 for o in group if o.status and 400 <= o.status < 500):>5} | "
                f"{sum(1 for o in group if o.status and o.status >= 500):>4} | {sum(o.empty for o in group):>5} | "
                f"{sum(1 for o in group if o.error):>4} | {sum(len(o.leaks) for o in group):>5} | "
                f"{percentile(times, 50):>6.0f} | {percentile(times, 95):>6.0f} | {max(times, default=0):>6.0f}")
        statuses = Counter(o.status for o in self.outcomes if o.status is not None)
        times = sorted(o.ms for o in self.outcomes)
        lines = ["", f"requests: {len(self.outcomes)} of {self.planned} planned in {self.wall:.0f}s (seed {self.seed})"
                 + (f"; {self.not_run} not run (out of time or count)" if self.not_run else "")
                 + (f"; aborted: {self.aborted}" if self.aborted else ""),
                 "statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())),
                 (f"5xx: {self.server_errors}; empty replies: {self.empty_replies}; "
                  f"connection errors/timeouts: {self.connection_errors}; "
                  f"4xx without a JSON error body: {self.count(lambda o: not o.json_error)}")]
        restarts = self.restarts()
        rasa_before, rasa_after = self.services_before.get(RASA), self.services_after.get(RASA)
        same = (f"same process, pid {rasa_after.pid}" if self.rasa_same_process else
                f"pid {rasa_before.pid if rasa_before else '?'} -> {rasa_after.pid if rasa_after else '?'}"
                f"{'' if rasa_after and rasa_after.alive else ', not running'}")
        lines.append("restarts: " + ", ".join(f"{n} {c}" + (f" ({same})" if n == RASA else "")
                                              for n, c in restarts.items()))
        lines.append(f"leaks: {self.leak_count} (replies checked: "
                     + ", ".join(f"{k} {v}" for k, v in sorted(self.checked.items())) + ")")
        lines.append(f"Rasa memory (VmRSS): before {_mb(self.rss_before_kb)}, after {_mb(self.rss_after_kb)}, "
                     f"peak {_mb(self.rss_peak_kb)}")
        lines.append(f"slowest turn: {self.slowest[0]:.0f} ms, {self.slowest[1]}")
        lines.append(f"latency (all requests): p50 {percentile(times, 50):.0f} ms, p95 {percentile(times, 95):.0f} ms, "
                     f"p99 {percentile(times, 99):.0f} ms")
        lines.append(f"token mutations that still verified (sent as the real caller): {self.still_valid_mutations}")
        lines.append(f"unexpected statuses (not failures; the class expects another): {len(self.unexpected)}")
        lines += [f"  {u}" for u in self.unexpected[:examples]]
        for title, found in (("leaks", self.leaks), ("crash suspects", self.crash_suspects),
                             *sorted(self.problems.items())):
            if found:
                lines.append(f"{title} ({len(found)}), e.g.:")
                lines += [f"  {f}" for f in found[:examples]]
        failed = self.failures()
        lines.append("verdict: " + ("FAILED: " + "; ".join(failed) if failed else "ok"))
        return "\n".join(rows + lines)


def _mb(kb: int | None) -> str:
    return "?" if kb is None else f"{kb / 1024:.0f} MB"


# --- the fuzzer -------------------------------------------------------------------------------------


class RssSampler(threading.Thread):
    """Rasa's peak memory during the run, sampled twice a second."""

    def __init__(self, pid_of: Callable[[], int | None]):
        super().__init__(daemon=True, name="fuzz-rss")
        self.pid_of, self.peak, self._halt = pid_of, None, threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.5):
            value = rss_kb(self.pid_of())
            if value is not None:
                self.peak = max(self.peak or 0, value)

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


class Fuzzer:
    """Sends probes one at a time and records each outcome."""

    def __init__(self, stack: Any, seed: int, request_timeout: float, max_seconds: float, limit: int,
                 filing: bool, supervised: bool, recover_timeout: float = 180.0):
        from bot.identity import issue_push_token, issue_staff_token, issue_token

        self.stack, self.rest_url = stack, stack.rest_url
        self.request_timeout, self.limit, self.filing = request_timeout, limit, filing
        self.supervised, self.recover_timeout = supervised, recover_timeout
        self.deadline = time.monotonic() + max_seconds
        self.run_id = f"{seed}-{secrets.token_hex(2)}"
        self.http = requests.Session()
        self.report = FuzzReport(planned=limit, seed=seed)
        self.turns: list[Turn] = []
        self.sent = 0
        self.conversations: list[str] = []
        self.owner: dict[str, str] = {}  # who we expect a conversation to be bound to
        self.history: dict[str, list[str]] = defaultdict(list)
        self.not_yours = response_text("conversation_not_yours")
        ttl = timedelta(hours=4)
        self.tokens = {cid: issue_token(cid, ttl=ttl) for cid in CUSTOMERS}
        self.staff_token = issue_staff_token(STAFF_PARTNER, STAFF_NAME, ttl=ttl)
        self.expired = {cid: issue_token(cid, ttl=timedelta(minutes=-5)) for cid in CUSTOMERS}
        self.push_token = issue_push_token(f"fz-{self.run_id}-push", "ESC-FUZZ01")
        self.base_tokens = {**{f"customer {c}": t for c, t in self.tokens.items()},
                            **{f"expired {c}": t for c, t in self.expired.items()},
                            "staff": self.staff_token, "push": self.push_token}

    # conversations and callers

    def new_sender(self) -> str:
        sender = f"fz-{self.run_id}-{len(self.conversations):05d}"
        self.conversations.append(sender)
        return sender

    def pick_sender(self, caller: str, choice: str, slot: int) -> str:
        if choice == "fresh" or not self.conversations:
            return self.new_sender()
        recent = self.conversations[-200:]
        pool = [s for s in recent if self.owner.get(s) == caller] if choice == "own" else recent[-64:]
        return (pool or recent)[slot % len(pool or recent)]

    def metadata_for(self, caller: str) -> dict[str, Any]:
        if caller in self.tokens:
            return {CUSTOMER_KEY: self.tokens[caller]}
        return {STAFF_KEY: self.staff_token} if caller == STAFF else {}

    def viewer_of_token(self, key: str, token: object) -> str:
        """Who the stack should take a (mutated) token for; a mutation can leave a token valid
        (e.g. a change in a base64 character's unused bits)."""
        from bot.identity import TokenError, verify_staff_token, verify_token

        try:
            if key == CUSTOMER_KEY:
                return verify_token(token)
            verify_staff_token(token)
            return STAFF
        except TokenError:
            return ANON

    # sending

    def out_of_budget(self) -> bool:
        return self.sent >= self.limit or time.monotonic() > self.deadline or self.report.aborted is not None

    def send(self, probe: Probe) -> None:
        if self.out_of_budget():
            self.report.not_run += 1
            return
        self.sent += 1
        data = probe.raw if probe.raw is not None else json.dumps(probe.body).encode("utf-8")
        before = self._rasa_state()
        started = time.perf_counter()
        outcome = Outcome(probe.kind, None, 0.0)
        reply: Any = None
        try:
            answer = self.http.post(self.rest_url, data=data, headers=JSON_HEADERS, timeout=self.request_timeout)
            outcome.status = answer.status_code
            try:
                reply = answer.json()
            except ValueError:
                reply = answer.text
        except requests.Timeout:
            outcome.error = "timeout"
        except requests.RequestException as exc:
            outcome.error = f"{type(exc).__name__}: {str(exc)[:100]}"
        outcome.ms = (time.perf_counter() - started) * 1000
        self._record(probe, outcome, reply)
        self._watch(probe, before, outcome)

    def _record(self, probe: Probe, outcome: Outcome, reply: Any) -> None:
        report = self.report
        report.outcomes.append(outcome)
        if outcome.ms > report.slowest[0]:
            report.slowest = (outcome.ms, f"{probe.kind}: {probe.describe(120)}")
        if outcome.error:
            report.problems["connection errors"].append(f"{probe.kind}: {outcome.error}; request {probe.describe()}")
            return
        if probe.expect and outcome.status not in probe.expect:
            report.unexpected.append(f"{probe.kind}: got {outcome.status}, expected {'/'.join(map(str, probe.expect))}"
                                     f"; request {probe.describe(160)}")
        if outcome.status >= 500:
            report.problems["5xx"].append(f"{probe.kind}: {outcome.status} {str(reply)[:160]}; request {probe.describe()}")
        elif 400 <= outcome.status < 500:
            outcome.json_error = isinstance(reply, dict) and {"error", "message"} <= set(reply)
            if not outcome.json_error:
                report.problems["4xx without a JSON error body"].append(
                    f"{probe.kind}: {outcome.status} {str(reply)[:100]!r}; request {probe.describe(120)}")
        elif outcome.status == 200:
            text = reply_text(reply)
            if not text.strip():
                outcome.empty = True
                report.problems["empty replies"].append(f"{probe.kind}: {str(reply)[:120]}; request {probe.describe()}")
            sender = probe.sender
            refused = bool(self.not_yours) and self.not_yours in text
            if sender is not None and not refused:
                self.history[sender].append(probe.text)
                if probe.viewer != ANON:
                    self.owner.setdefault(sender, probe.viewer)
            typed = tuple(self.history[sender]) if sender is not None else (probe.text,)
            self.turns.append(Turn(len(report.outcomes) - 1, probe.viewer, typed or (probe.text,), text,
                                   probe.describe(200)))

    def _rasa_state(self) -> tuple[int | None, bool]:
        rasa = next((s for s in self.stack.services if s.name == RASA), None)
        process = getattr(rasa, "process", None)
        return (process.pid if process else None), bool(process and process.poll() is None)

    def _watch(self, probe: Probe, before: tuple[int | None, bool], outcome: Outcome) -> None:
        """After a request that Rasa did not survive (it died, or its pid changed), note the
        request and wait, bounded, for the supervisor to bring it back; without one, stop."""
        pid, alive = self._rasa_state()
        if alive and pid == before[0] and outcome.error is None:
            return
        if not alive or pid != before[0]:
            self.report.crash_suspects.append(f"{probe.kind}: {probe.describe()}")
        if not self._wait_for_rasa():
            self.report.aborted = f"Rasa did not answer within {self.recover_timeout:.0f}s after {probe.kind}"

    def _wait_for_rasa(self) -> bool:
        health = self.rest_url.rsplit("/", 1)[0] + "/"
        deadline = time.monotonic() + self.recover_timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(health, timeout=2).ok:
                    return True
            except requests.RequestException:
                pass
            if not self.supervised and not self._rasa_state()[1]:
                return False  # nobody will restart it
            time.sleep(1)
        return False

    def check_leaks(self, detector: LeakDetector, examples: int = 20) -> None:
        for turn in self.turns:
            kind = "customers" if turn.viewer not in (ANON, STAFF) else ("staff" if turn.viewer == STAFF else "anonymous")
            self.report.checked[kind] += 1
            self.report.checked["showing account data"] += detector.shows_account_data(turn.reply)
            found = detector.leaks(turn.viewer, turn.typed, turn.reply)
            if found:
                self.report.outcomes[turn.index].leaks = found
                if len(self.report.leaks) < examples:
                    self.report.leaks.append(f"to {turn.viewer}: {found} in reply {turn.reply[:200]!r}; "
                                             f"request {turn.request}")


def reply_text(reply: Any) -> str:
    """Every string the client would show (text, buttons, custom payloads), not the recipient id."""
    if not isinstance(reply, list):
        return ""
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key != "recipient_id":
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(reply)
    return "\n".join(p for p in parts if p.strip())


# --- the corpus: the classes of issue 11 ------------------------------------------------------------


def _b64(value: dict) -> str:
    return jwt.utils.base64url_encode(json.dumps(value).encode()).decode()


def _hs512(claims: dict, secret: str) -> str:
    with warnings.catch_warnings():  # our key is short for HS512; the token is meant to be refused anyway
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm="HS512")


def forged_tokens(fz: Fuzzer, victim: str) -> list[tuple[str, Any]]:
    """(name, value) of customer tokens that must all be refused."""
    from bot.config import load_settings
    from bot.identity import CUSTOMER_AUDIENCE, ISSUER, STAFF_AUDIENCE

    now = int(time.time())
    claims = {"sub": victim, "aud": CUSTOMER_AUDIENCE, "iss": ISSUER, "iat": now, "exp": now + 3600}
    secret = load_settings().token_secret
    real = fz.tokens[victim]
    return [
        ("wrong-key", jwt.encode(claims, "not-the-secret-" + "x" * 32, algorithm="HS256")),
        ("alg-none", f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."),
        ("alg-HS512", _hs512(claims, secret)),
        ("expired", fz.expired[victim]),
        ("truncated", real[:-6]),
        ("header-only", real.split(".")[0]),
        ("lone-surrogate", real[:30] + "\ud800" + real[30:]),
        ("10kb", real + "A" * 10_000),
        ("10kb-signed", jwt.encode({**claims, "pad": "x" * 10_000}, secret, algorithm="HS256")),
        ("staff-as-customer", fz.staff_token),
        ("push-as-customer", fz.push_token),
        ("staff-audience", jwt.encode({**claims, "aud": STAFF_AUDIENCE}, secret, algorithm="HS256")),
        ("no-exp", jwt.encode({k: v for k, v in claims.items() if k != "exp"}, secret, algorithm="HS256")),
        ("other-issuer", jwt.encode({**claims, "iss": "someone-else"}, secret, algorithm="HS256")),
        ("signature-swapped", ".".join(real.split(".")[:2] + fz.tokens["C-1001"].split(".")[2:])),
        ("bearer-prefix", "Bearer " + real),
        ("as-list", [real]),
        ("as-object", {"token": real}),
        ("as-number", 12345),
    ]


def deterministic_probes(fz: Fuzzer) -> list[Probe]:
    c1 = fz.tokens["C-1001"]
    signed1 = {CUSTOMER_KEY: c1}

    def ok(kind: str, message: Any, caller: str = "C-1001", sender: str | None = None, **extra: Any) -> Probe:
        body = {"sender": sender or fz.new_sender(), "message": message, "metadata": fz.metadata_for(caller), **extra}
        return Probe(kind, body, viewer=caller, expect=(200,))

    def bad(kind: str, body: Any = None, raw: bytes | None = None, expect: tuple[int, ...] = (400,)) -> Probe:
        metadata = body.get("metadata") if isinstance(body, dict) else None
        signed = isinstance(metadata, dict) and metadata.get(CUSTOMER_KEY) == c1
        return Probe(kind, body, raw=raw, viewer="C-1001" if signed else ANON, expect=expect)

    probes = [
        bad("senders/lone-surrogate", raw=b'{"sender": "x\\ud800", "message": "hi"}'),
        bad("senders/invalid-utf8", raw=b'{"sender": "x\xff\xfe", "message": "hi"}'),
        bad("senders/overlong-utf8", raw=b'{"sender": "x\xc0\xaf", "message": "hi"}'),
        *[bad(f"senders/odd-{i}", {"sender": s, "message": "hi", "metadata": signed1}) for i, s in enumerate(
            ["a" * 129, "a" * 10_000, "", " ", "a b", "../../etc/passwd", "a\nb", "x\u0000", "ünïcødé", "😀",
             "-leading", "a;DROP TABLE events;--", "x\u202e", "\ufeffx"])],
        *[bad(f"senders/not-a-string-{type(s).__name__}", {"sender": s, "message": "hi"})
          for s in (123, None, [], {}, True, 1.5)],
        bad("senders/missing", {"message": "hi"}),
        ok("senders/longest-valid", "hello", sender="a" * 128),
        *[bad(f"bodies/not-an-object-{i}", raw=raw) for i, raw in enumerate([b"[]", b"null", b"123", b'"x"', b"true"])],
        bad("bodies/empty", raw=b""),
        bad("bodies/whitespace", raw=b"   \n"),
        *[bad(f"bodies/invalid-json-{i}", raw=raw) for i, raw in enumerate(
            [b"{", b"{'sender': 'x'}", b"\xff\xfe", b"sender=x&message=hi", b'{"sender": "x", "message": "hi",}',
             b'\xef\xbb\xbf{"sender": "x", "message": "hi"}', b'{"sender": "x", "message": NaN}'])],
        bad("bodies/deep-nesting", raw=b"[" * 20_000 + b"]" * 20_000),
        bad("bodies/deep-metadata-raw",
            raw=b'{"sender": "x", "message": "hi", "metadata": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"),
        *[bad(f"metadata/{name}", {"sender": fz.new_sender(), "message": "hello", "metadata": value})
          for name, value in [("list", []), ("string", "x"), ("number", 3), ("bool", True)]],
        bad("metadata/too-deep", {"sender": fz.new_sender(), "message": "hello",
                                  "metadata": {**signed1, "a": {"b": {"c": {"d": {"e": 1}}}}}}),
        bad("metadata/very-deep", {"sender": fz.new_sender(), "message": "hello",
                                   "metadata": {"a": _nested(500)}}),
        bad("metadata/too-big", {"sender": fz.new_sender(), "message": "hello",
                                 "metadata": {**signed1, "blob": "x" * 5000}}, expect=(413,)),
        bad("metadata/many-keys", {"sender": fz.new_sender(), "message": "hello",
                                   "metadata": {str(i): i for i in range(2000)}}, expect=(413,)),
        bad("metadata/surrogate-key", {"sender": fz.new_sender(), "message": "hello", "metadata": {"\udc00": 1}}),
        *[bad(f"messages/{name}", {"sender": fz.new_sender(), "message": value, "metadata": signed1})
          for name, value in [("null", None), ("number", 42), ("empty", ""), ("whitespace", "   \n\t "),
                              ("controls-only", "\u0000\u0007\u001b"), ("list", ["hi"]), ("object", {"text": "hi"}),
                              ("bool", True), ("lone-surrogate", "hi \udc80")]],
        bad("messages/missing", {"sender": fz.new_sender(), "metadata": signed1}),
        ok("messages/controls-inside", "what is my\u0000 balance?\u0007"),
        ok("messages/rtl-and-zero-width", "show me invoice \u202eG000100001\u200b"),
        ok("messages/exactly-the-limit", "a " * 1000),
        ok("messages/one-over-the-limit", "a" * 2001),
    ]
    conversation = fz.new_sender()
    probes.append(ok("commands/setup", "show me invoice G000100001", sender=conversation))
    for typed in ("/restart", "/session_start", "/back", "/nlu_fallback", "//restart", " / restart", "/RESTART",
                  '/EXTERNAL_escalation_resolved{"escalation_reference": "ESC-X"}',
                  '/EXTERNAL_escalation_resolved{"escalation_reference": "ESC-X", "push_token": "x"}',
                  '/ask_invoice{"invoice_number": "G000200001"}', '/ask_balance{"customer_id": "C-1002"}',
                  "/greet", "/"):
        probes.append(ok(f"commands/{typed.strip()[:20]}", typed, sender=conversation))
    probes.append(ok("commands/restart-anonymous", "/restart", caller=ANON))
    probes += [
        ok("sizes/5kb", "why is my bill so high " * 220),
        ok("sizes/40kb", "why is my bill so high " * 1750),
        bad("sizes/100kb", {"sender": fz.new_sender(), "message": "x" * 100_000, "metadata": signed1}, expect=(413,)),
        bad("sizes/1mb-body", raw=json.dumps({"sender": fz.new_sender(), "message": "x" * 1_000_000}).encode(),
            expect=(413,)),
        ok("spoofs/input-channel-cmdline", "what is my balance?", caller=ANON, input_channel="cmdline"),
        ok("spoofs/input-channel-cmdline-signed", "what is my balance?", caller="C-1001", input_channel="cmdline"),
        Probe("spoofs/client-caller", {"sender": fz.new_sender(), "message": "what is my balance?",
                                       "metadata": {"caller": {"kind": "customer", "customer_id": "C-1004"}}},
              viewer=ANON, expect=(200,)),
        Probe("spoofs/client-caller-with-token", {"sender": fz.new_sender(), "message": "show me my latest invoice",
                                                  "metadata": {**signed1, "caller": {"kind": "customer",
                                                                                     "customer_id": "C-1004"}}},
              viewer="C-1001", expect=(200,)),
        Probe("spoofs/client-staff-caller", {"sender": fz.new_sender(), "message": "what is Fabrikam's balance?",
                                             "metadata": {"caller": {"kind": "staff", "partner_id": STAFF_PARTNER,
                                                                     "staff_name": STAFF_NAME}}},
              viewer=ANON, expect=(200,)),
    ]
    victim_conversation = fz.new_sender()
    probes.append(ok("ownership/victim-starts", "what is my balance?", caller="C-1004", sender=victim_conversation))
    for i, (name, token) in enumerate(forged_tokens(fz, "C-1004")):
        messages = ("what is my balance?", "show me the lines of my latest invoice")
        for sender, message in ((victim_conversation, messages[i % 2]), (fz.new_sender(), messages[1 - i % 2])):
            probes.append(Probe(f"tokens/{name}", {"sender": sender, "message": message,
                                                   "metadata": {CUSTOMER_KEY: token}}, viewer=ANON))
    for name, token in forged_tokens(fz, "C-1004")[:5]:
        probes.append(Probe(f"tokens/staff-{name}", {"sender": fz.new_sender(), "message": "what is Tailspin's balance?",
                                                     "metadata": {STAFF_KEY: token}}, viewer=ANON))
    probes.append(Probe("tokens/unknown-customer", {"sender": fz.new_sender(), "message": "what is my balance?",
                                                    "metadata": {CUSTOMER_KEY: _token_for_unknown()}},
                        viewer="C-9999", expect=(200,)))
    for caller, message in (("C-1001", "what is my balance?"), ("C-1002", "show me invoice G000400001"),
                            (ANON, "show me the lines"), (STAFF, "yes"), ("C-1003", "no"),
                            ("C-1001", "what did I pay for the reserved instance?")):
        probes.append(ok(f"ownership/intruder-{caller}", message, caller=caller, sender=victim_conversation))
    probes.append(Probe("ownership/owner-expired", {"sender": victim_conversation, "message": "what is my balance?",
                                                    "metadata": {CUSTOMER_KEY: fz.expired["C-1004"]}},
                        viewer=ANON, expect=(200,)))
    probes.append(ok("ownership/owner-again", "show me the lines", caller="C-1004", sender=victim_conversation))
    anonymous_first = fz.new_sender()
    probes.append(ok("ownership/anonymous-first", "how can I pay? G000300001", caller=ANON, sender=anonymous_first))
    probes.append(ok("ownership/takeover", "what is my balance?", caller="C-1003", sender=anonymous_first))
    probes.append(ok("ownership/after-takeover", "show me invoice G000300001", caller="C-1002", sender=anonymous_first))
    if fz.filing:
        probes += filing_flows(ok, fz)
    return probes


def filing_flows(ok: Callable[..., Probe], fz: Fuzzer) -> list[Probe]:
    """A dispute, a refund and a staff report filed to the end, so that escalation references
    exist for the leak check; then everyone asks about their disputes."""
    probes = []
    for caller, steps in (("C-1004", ["I want to dispute a charge", "G000400001", "Reserved instance purchase",
                                      "we never ordered a reserved instance", "yes", "what's the status of my dispute?"]),
                          ("C-1003", ["I paid twice, please refund me", "G000300001", "yes",
                                      "what's the status of my refund?"]),
                          (STAFF, ["report this problem to 21Vianet on behalf of Fabrikam",
                                   "Their subscription was suspended although they paid by wire on November 20", "yes"])):
        sender = fz.new_sender()
        probes += [ok(f"flows/{caller}-{n}", step, caller=caller, sender=sender) for n, step in enumerate(steps)]
    for caller in (*CUSTOMERS, ANON, STAFF):
        probes.append(ok(f"flows/status-{caller}", "what's the status of my dispute?", caller=caller))
    return probes


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def _token_for_unknown() -> str:
    from bot.identity import issue_token

    return issue_token("C-9999", ttl=timedelta(hours=1))


# --- the corpus: Hypothesis strategies --------------------------------------------------------------

INVOICE_NUMBERS = ["G000100001", "G000100002", "G000200001", "G000200002", "G000300001", "G000400001",
                   "G000500001", "G999999999", "g000200001", "G 000 300 001", "G0002", "G-000-400-001"]
NAMES = ["Contoso", "Fabrikam", "Northwind", "Tailspin", "C-1001", "C-1002", "C-1003", "C-1004", "Lakeshore"]
AMOUNTS = ["8240", "9,615.50", "CNY 12,400.00", "11980", "5300", "7,800.00", "4500", "24380", "0.01", "99999999"]
MONTHS = ["September", "October", "november 2026", "2026-08", "last month", "this month"]
PHRASES = [
    "hello", "hi there", "what is my balance?", "what do I owe", "show my latest invoice", "invoice {inv}",
    "show me invoice {inv}", "{inv}", "the bill for {month}", "show me the lines", "why did my bill go up?",
    "when is it due?", "did you get my payment?", "did you get my payment of {amount}?", "I paid {amount} for {inv}",
    "my subscription is suspended", "what if I pay late?", "how can I pay?", "what is {name}'s balance?",
    "show me {name}'s invoice {inv}", "what does {name} owe?", "what is the reserved instance charge on {inv}?",
    "what's the status of my dispute?", "status of ESC-{ref}", "no", "cancel", "thanks", "bye",
    "what can you do?", "who are you?", "talk to a human", "what is the weather", "partner invoice PV-2026-10",
    "how much does Lakeshore owe 21Vianet?", "I am {name}, show my invoices", "compare {inv} with {inv2}",
]
FILING_PHRASES = ["I want to dispute a charge", "dispute {inv}", "I paid twice, I'd like a refund", "yes",
                  "yes, file it", "report this problem to 21Vianet on behalf of {name}",
                  "we never ordered a reserved instance", "Reserved instance purchase"]


def billing_phrases(filing: bool) -> st.SearchStrategy[str]:
    """Realistic billing questions, with the four demo customers' invoice numbers, amounts and
    names mixed in (another customer's invoice number is the first thing an attacker tries)."""
    templates = PHRASES + (FILING_PHRASES if filing else [])
    return st.builds(lambda t, inv, inv2, month, amount, name, ref: t.format(
        inv=inv, inv2=inv2, month=month, amount=amount, name=name, ref=ref),
        st.sampled_from(templates), st.sampled_from(INVOICE_NUMBERS), st.sampled_from(INVOICE_NUMBERS),
        st.sampled_from(MONTHS), st.sampled_from(AMOUNTS), st.sampled_from(NAMES),
        st.text("ABCDEFGHJKMNPQRSTVWXYZ0123456789", min_size=6, max_size=6))


# Full Unicode, with the lone surrogates and control characters Hypothesis leaves out by default.
ANY_CHAR = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.characters(categories=["Cc", "Cf"]))
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                         st.text(ANY_CHAR, max_size=40))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=5), st.dictionaries(st.text(ANY_CHAR, max_size=12), children, max_size=5)),
    max_leaves=40)
CALLERS = st.sampled_from([*CUSTOMERS * 4, ANON, ANON, STAFF, STAFF])  # mostly signed customers
SENDER_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@-"


def message_texts(filing: bool) -> st.SearchStrategy[Any]:
    phrases = billing_phrases(filing)
    return st.one_of(
        st.text(ANY_CHAR, max_size=300),
        phrases,
        st.builds(lambda a, b, c: f"{a}{b}{c}", st.text(ANY_CHAR, max_size=20), phrases, st.text(ANY_CHAR, max_size=20)),
        st.builds(lambda cmd, payload: f"/{cmd}{payload}",
                  st.text(SENDER_CHARS + "_{}", max_size=30), st.one_of(st.just(""), JSON_VALUES.map(json.dumps))),
        st.integers(1990, 2010).map(lambda n: ("why " * n)[:n]),  # around the 2000-character limit
        st.one_of(st.none(), st.integers(), st.lists(st.text(max_size=5), max_size=2)),  # not a string at all
    )


def sender_ids() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}", fullmatch=True),
        st.text(ANY_CHAR, max_size=200),
        st.text(SENDER_CHARS, min_size=120, max_size=300),
        st.one_of(st.none(), st.integers(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False),
                  st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)),
    )


def metadata_values() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.dictionaries(st.text(ANY_CHAR, max_size=16), JSON_VALUES, max_size=8),  # mostly an object
        st.dictionaries(st.text(ANY_CHAR, max_size=16), JSON_VALUES, max_size=8),
        st.dictionaries(st.text(ANY_CHAR, max_size=16), JSON_VALUES, max_size=8),
        JSON_VALUES,
    )


TOKEN_MUTATIONS = ("as-is", "flip", "truncate", "insert", "delete", "swap-signature", "swap-payload", "case",
                   "pad", "whitespace", "repeat-dot", "drop-signature")


def mutate(token: str, other: str, op: str, position: int, char: str) -> str:
    """A mutation of a real token: the kind of damage or tampering a token meets."""
    i = position % (len(token) + 1)
    if op == "flip" and token:
        j = i % len(token)
        return token[:j] + (char if char != token[j] else "A") + token[j + 1:]
    if op == "truncate":
        return token[:i]
    if op == "insert":
        return token[:i] + char + token[i:]
    if op == "delete" and token:
        j = i % len(token)
        return token[:j] + token[j + 1:]
    parts, others = token.split("."), other.split(".")
    if op == "swap-signature" and len(parts) == 3 and len(others) == 3:
        return ".".join(parts[:2] + others[2:])
    if op == "swap-payload" and len(parts) == 3 and len(others) == 3:
        return ".".join([parts[0], others[1], parts[2]])
    if op == "case":
        return token.swapcase()
    if op == "pad":
        return token + "=" * (1 + i % 3)
    if op == "whitespace":
        return f" {token}\n"
    if op == "repeat-dot":
        return token.replace(".", "..", 1)
    if op == "drop-signature" and len(parts) == 3:
        return f"{parts[0]}.{parts[1]}."
    return token


def plans(fz: Fuzzer, kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """What one generated request is made of; Fuzzer.materialize turns it into a request."""
    # A quarter fresh, half the caller's own (to get deep into forms), a quarter anyone's.
    conversation = {"caller": CALLERS, "conversation": st.sampled_from(["fresh", "own", "own", "any"]),
                    "slot": st.integers(0, 1_000)}
    if kind == "billing":
        return st.fixed_dictionaries({**conversation, "message": billing_phrases(fz.filing)})
    if kind == "text":
        return st.fixed_dictionaries({**conversation, "message": message_texts(fz.filing)})
    if kind == "sender":
        return st.fixed_dictionaries({**conversation, "message": billing_phrases(fz.filing), "sender": sender_ids()})
    if kind == "metadata":
        return st.fixed_dictionaries({**conversation, "message": billing_phrases(fz.filing),
                                      "metadata": metadata_values()})
    names = sorted(fz.base_tokens)
    return st.fixed_dictionaries({
        **conversation, "message": billing_phrases(fz.filing),
        "token": st.tuples(st.sampled_from(names), st.sampled_from(names), st.sampled_from(TOKEN_MUTATIONS),
                           st.integers(0, 400), ANY_CHAR, st.sampled_from([CUSTOMER_KEY, CUSTOMER_KEY, STAFF_KEY]))})


def materialize(fz: Fuzzer, kind: str, plan: dict[str, Any]) -> Probe:
    caller = plan["caller"]
    token = plan.get("token")
    if token:
        base, other, op, position, char, key = token
        caller = base.split()[-1] if base.startswith(("customer", "expired")) else caller  # attack that customer
    sender = plan["sender"] if "sender" in plan else fz.pick_sender(caller, plan["conversation"], plan["slot"])
    metadata = plan.get("metadata", {})
    viewer = caller
    if isinstance(metadata, dict):
        # A generated key must not happen to carry (or drop) the caller's token.
        metadata = {k: v for k, v in metadata.items() if k not in (CUSTOMER_KEY, STAFF_KEY)}
        metadata.update(fz.metadata_for(caller))
    if token:
        mutated = mutate(fz.base_tokens[base], fz.base_tokens[other], op, position, char)
        metadata = {key: mutated}
        viewer = fz.viewer_of_token(key, mutated)
        if viewer != ANON and mutated != fz.base_tokens[base]:
            fz.report.still_valid_mutations += 1
            fz.report.problems["token mutations that still verified (not failures)"].append(
                f"{op} of {base} at {position} ({char!r}) -> {viewer}")
    elif not isinstance(metadata, dict):
        viewer = ANON  # answered 400 anyway
    return Probe(f"hyp-{kind}/{token[2] if token else type(plan['message']).__name__}",
                 {"sender": sender, "message": plan["message"], "metadata": metadata}, viewer=viewer)


def run_strategy(fz: Fuzzer, kind: str, examples: int, seed: int) -> None:
    """Hypothesis drives one request per example; outcomes are recorded, never raised, so it
    neither shrinks nor stops early."""
    if examples <= 0:
        return

    @hypothesis_settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
                         suppress_health_check=list(HealthCheck), print_blob=False)
    @hypothesis_seed(seed)
    @given(plans(fz, kind))
    def one_request(plan: dict[str, Any]) -> None:
        if not fz.out_of_budget():
            fz.send(materialize(fz, kind, plan))
        else:
            fz.report.not_run += 1

    one_request()


# Shares of the generated requests, by strategy.
STRATEGY_SHARES = {"billing": 0.35, "text": 0.2, "sender": 0.1, "metadata": 0.15, "token": 0.2}


def run_fuzz(stack: Any, requests_count: int = 2000, seed: int = 2026, request_timeout: float = 30.0,
             max_seconds: float = 900.0, filing: bool = True, supervised: bool = False,
             progress: Callable[[str], None] | None = None) -> FuzzReport:
    """Send `requests_count` requests to a running stack (bot.launcher.Stack, or anything with
    rest_url and services) and return the figures. Tokens are signed with this process's
    BOT_TOKEN_SECRET and the database is the stack's BOT_DATABASE_URL: both must be the stack's.
    `filing`: allow phrases that file disputes and refunds (off inside the shared test stack).
    `supervised`: the stack restarts a crashed process, so the run waits for Rasa and goes on."""
    from bot.config import load_settings

    database_url = getattr(stack, "env", {}).get("BOT_DATABASE_URL") or load_settings().database_url
    fz = Fuzzer(stack, seed, request_timeout, max_seconds, requests_count, filing, supervised)
    report = fz.report
    report.services_before = service_states(stack)
    report.rss_before_kb = rss_kb(fz._rasa_state()[0])
    sampler = RssSampler(lambda: fz._rasa_state()[0])
    sampler.start()
    started = time.monotonic()
    try:
        corpus = deterministic_probes(fz)
        if progress:
            progress(f"  the issue's classes: {min(len(corpus), requests_count)} requests ...")
        for probe in corpus:
            fz.send(probe)
        remaining = max(0, requests_count - fz.sent)
        shares = list(STRATEGY_SHARES.items())
        for n, (kind, share) in enumerate(shares):
            examples = remaining - sum(round(remaining * s) for _, s in shares[:-1]) if n == len(shares) - 1 \
                else round(remaining * share)
            if progress and examples:
                progress(f"  Hypothesis strategy '{kind}': {examples} requests ...")
            run_strategy(fz, kind, examples, seed + n)
    finally:
        sampler.stop()
        report.wall = time.monotonic() - started
        report.services_after = service_states(stack)
        report.rss_after_kb = rss_kb(fz._rasa_state()[0])
        report.rss_peak_kb = max(filter(None, [sampler.peak, report.rss_before_kb, report.rss_after_kb]), default=None)
        fz.http.close()
    fz.check_leaks(LeakDetector.from_database(database_url))
    return report


# --- main -------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000, help="requests to send (default 4000, about 3 minutes)")
    parser.add_argument("--seed", type=int, default=2026, help="the corpus's seed (default 2026)")
    parser.add_argument("--rasa-port", type=int, default=5305)
    parser.add_argument("--action-port", type=int, default=5355)
    parser.add_argument("--vianet-port", type=int, default=8965)
    parser.add_argument("--request-timeout", type=float, default=30.0, help="seconds per request (default 30)")
    parser.add_argument("--max-seconds", type=float, default=1200.0,
                        help="no new request starts after this many seconds (default 1200)")
    parser.add_argument("--no-filing", action="store_true", help="leave out phrases that file disputes and refunds")
    parser.add_argument("--examples", type=int, default=5, help="examples printed per problem (default 5)")
    args = parser.parse_args(argv)

    from bot.config import VAR_DIR
    from bot.db import session_scope
    from bot.db.migrate import upgrade
    from bot.launcher import Stack, port_in_use
    from bot.model import model_path
    from bot.seed import seed_demo

    model = model_path()
    if not model.exists():
        print(f"No trained model at {model}: run scripts/train.sh (scripts/fuzz.sh does).", file=sys.stderr)
        return 1
    busy = [str(p) for p in (args.rasa_port, args.action_port, args.vianet_port) if port_in_use(p)]
    if busy:
        print(f"Port(s) {', '.join(busy)} already in use; choose others with --rasa-port/--action-port/--vianet-port.",
              file=sys.stderr)
        return 1
    folder = VAR_DIR / "fuzz"
    shutil.rmtree(folder, ignore_errors=True)  # a fresh database, tracker store and upstream every run
    folder.mkdir(parents=True, mode=0o700)
    url = f"sqlite:///{folder / 'billing.sqlite3'}"
    secret = os.environ.get("BOT_TOKEN_SECRET") or secrets.token_urlsafe(48)
    today = os.environ.get("BOT_TODAY") or FUZZ_TODAY
    # This process (tokens, leak check) and the servers share one database and one token secret.
    os.environ.update({"BOT_DATABASE_URL": url, "BOT_TOKEN_SECRET": secret, "BOT_TODAY": today})
    upgrade(url)
    with session_scope(url) as session:
        seed_demo(session)
    endpoints = folder / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{args.action_port}/webhook"\n'
                         'nlg:\n  type: bot.replies.nlg.CatalogueGenerator\n'
                         f'tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {folder / "tracker.sqlite3"}\n')

    def _stop(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    # VIANET_API_URL "": escalations filed by the fuzz go to the local stand-in, never a real upstream.
    stack = Stack(model=model, rasa_port=args.rasa_port, action_port=args.action_port, vianet_port=args.vianet_port,
                  endpoints=endpoints, log_dir=folder / "logs",
                  env={"BOT_DATABASE_URL": url, "BOT_TOKEN_SECRET": secret, "BOT_TODAY": today, "VIANET_API_URL": "",
                       "RASA_TELEMETRY_ENABLED": "false"})
    print(f"starting the servers (rasa :{args.rasa_port}, actions :{args.action_port}, 21Vianet :{args.vianet_port}; "
          f"logs in {stack.log_dir}) ...", flush=True)
    started = time.monotonic()
    try:
        stack.start(timeout=300)
        stack.start_supervisor()  # a crash is restarted, and counted
        print(f"servers ready in {time.monotonic() - started:.0f}s; model {model.name}; "
              f"sending {args.requests} requests (seed {args.seed}) ...", flush=True)
        report = run_fuzz(stack, args.requests, args.seed, args.request_timeout, args.max_seconds,
                          filing=not args.no_filing, supervised=True, progress=lambda line: print(line, flush=True))
    except (KeyboardInterrupt, RuntimeError) as exc:
        interrupted = isinstance(exc, KeyboardInterrupt)
        print("interrupted" if interrupted else f"could not run the fuzz: {exc}", file=sys.stderr)
        return 130 if interrupted else 1
    finally:
        stack.stop()
    print()
    print(report.table(args.examples))
    return 2 if report.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
