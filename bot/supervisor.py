"""Keep a set of processes running: start them, restart a crashed one after a backoff, forever,
report one that keeps crashing, and write each one's output to a size-rotated, redacted log.

A small state machine rather than a supervisor daemon (honcho does not restart; supervisord needs a
config and a daemon of its own). No restart ever holds up supervising the others. The state is
also written to a status file that `python -m bot status` reads.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO, Any, Callable

import requests

from bot.config import REPO_ROOT, LogSettings, SupervisorSettings, load_log_settings, load_supervisor_settings
from bot.redaction import LINE_PREFIX_ROOM, clip, redact, secret_values

logger = logging.getLogger(__name__)
STARTING, RUNNING, BACKOFF, CRASH_LOOPING, STOPPED = "starting", "running", "backoff", "crash-looping", "stopped"
OWNER_ONLY_FILE, OWNER_ONLY_DIR, OWNER_ONLY_UMASK = 0o600, 0o700, 0o077
HEALTH_TIMEOUT = 1.0  # seconds; one slow health check must not hold up supervising the others


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "RASA_TELEMETRY_ENABLED": "false",  # billing conversations never leave the machine
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
        # The action server trusts the trackers it is sent: only the local Rasa server may reach it.
        "SANIC_HOST": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",  # lines reach the log as they are written, not at exit
    })
    env.update(extra or {})
    return env


def _print_to_stderr(text: str) -> None:
    try:
        print(text, file=sys.stderr, flush=True)
    except OSError:  # a closed terminal or pipe: the status file still says it
        pass


def restrict_to_owner(folder: Path) -> None:
    """Make `folder` and everything below it readable by its owner only (files from older runs too)."""
    folder.mkdir(parents=True, exist_ok=True)
    for root, _dirs, files in os.walk(folder):
        os.chmod(root, OWNER_ONLY_DIR)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, OWNER_ONLY_FILE)


def write_private_file(path: Path, text: str) -> None:
    """Replace `path` atomically with `text`, readable by its owner only."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


class ProcessLog(RotatingFileHandler):
    """One process's log file: rotated by size, owner-only, every line redacted and clipped."""

    def __init__(self, path: Path, settings: LogSettings) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path, maxBytes=settings.max_bytes, backupCount=settings.backups, encoding="utf-8",
                         delay=True)
        self.line_max = settings.line_max + LINE_PREFIX_ROOM
        self.secrets: list[str] | None = None  # the child's, which this process may not have
        if path.exists():
            os.chmod(path, OWNER_ONLY_FILE)

    def _open(self) -> IO[str]:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, OWNER_ONLY_FILE)
        return open(fd, "a", encoding=self.encoding, errors="replace")

    def write_line(self, text: str, cut: bool = False) -> None:
        # cut: the rest of the line was skipped unread, so its length is unknown
        line = (redact(text, self.secrets)[:self.line_max] + "... [truncated]" if cut
                else clip(text, self.line_max, self.secrets))
        self.handle(logging.makeLogRecord({"msg": line, "args": ()}))


def pump(stream: IO[bytes], log: ProcessLog) -> None:
    """Copy a child's output into its log until the child closes it, reading all the time so a
    child never blocks on a full pipe; of an overlong line only the beginning is kept."""
    limit = log.line_max * 4  # bytes: room for line_max characters of any UTF-8
    at_line_start = True
    with stream:
        for chunk in iter(lambda: stream.readline(limit), b""):
            complete = chunk.endswith(b"\n")
            if at_line_start:
                log.write_line(chunk.decode("utf-8", "replace").rstrip("\r\n"), cut=not complete)
            at_line_start = complete


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str | None  # None: a worker without HTTP; healthy while it runs
    log_path: Path
    port: int | None
    env: dict[str, str] = field(default_factory=dict)  # for this process only, over the stack's
    start_timeout: float = 300.0  # not answering by then counts as a crash
    process: subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = 0.0
    # Supervision state (see Supervisor): times are time.monotonic(), except `since` (wall clock).
    state: str = STOPPED
    since: float = field(default_factory=time.time)
    crashes: deque[float] = field(default_factory=deque)  # within the crash window
    last_exit_code: int | None = None
    backoff: float = 0.0
    next_start_at: float = 0.0
    log: ProcessLog | None = field(default=None, repr=False)
    reader: threading.Thread | None = field(default=None, repr=False)
    failed_checks: int = 0  # health checks failed in a row while running
    next_check_at: float = 0.0

    def start(self, env: dict[str, str], log_settings: LogSettings | None = None) -> None:
        if self.log is None:
            self.log = ProcessLog(self.log_path, log_settings or load_log_settings())
        self.log.secrets = secret_values({**os.environ, **env, **self.env})
        self.process = subprocess.Popen(self.command, cwd=REPO_ROOT, env={**env, **self.env}, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                        umask=OWNER_ONLY_UMASK)
        self.started_at = time.monotonic()
        self.reader = threading.Thread(target=pump, args=(self.process.stdout, self.log), daemon=True,
                                       name=f"log of {self.name}")
        self.reader.start()

    def healthy(self) -> bool:
        if self.health_url is None:
            return self.process is not None and self.process.poll() is None and time.monotonic() - self.started_at > 2
        try:
            return requests.get(self.health_url, timeout=HEALTH_TIMEOUT).ok
        except requests.RequestException:
            return False

    def kill(self) -> None:
        """At once, without the grace of stop(): for a process that no longer answers."""
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=5)

    def stop(self, grace: float = 10.0) -> None:
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        if self.reader is not None:
            self.reader.join(timeout=5)  # a grandchild may still hold the pipe; it is a daemon thread

    def status(self, settings: SupervisorSettings) -> dict[str, Any]:
        alive = self.process is not None and self.state in (STARTING, RUNNING)
        return {"name": self.name, "state": self.state, "pid": self.process.pid if alive else None,
                "restarts": self.restarts, "crashes_in_window": len(self.crashes),
                "crash_looping": len(self.crashes) >= settings.crash_loop_threshold,
                "last_exit_code": self.last_exit_code,
                "since": datetime.fromtimestamp(self.since).isoformat(timespec="seconds"),
                "backoff_seconds": round(self.backoff, 3), "log": str(self.log_path)}


class Supervisor:
    """Keeps a list of services running: `supervise_once()` is one non-blocking step, called in a
    loop by the launcher or by the thread of `start_supervisor()`."""

    def __init__(self, services: list[Service], env: dict[str, str] | None = None,
                 settings: SupervisorSettings | None = None, log_settings: LogSettings | None = None,
                 status_path: Path | None = None, report: Callable[[str], None] | None = None) -> None:
        self.services = services
        self.env = env if env is not None else child_environment()
        self.settings = settings or load_supervisor_settings()
        self.log_settings = log_settings or load_log_settings()
        self.status_path = status_path
        self.report = report or _print_to_stderr
        self._lock = threading.RLock()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._written: list[dict[str, Any]] | None = None

    def backoff_for(self, crashes: int) -> float:
        """The wait before restarting a service with this many crashes in the window."""
        base, cap = self.settings.restart_backoff_base, self.settings.restart_backoff_cap
        return min(cap, base * 2.0 ** min(max(crashes - 1, 0), 60))

    def start_all(self) -> None:
        with self._lock:
            for service in self.services:
                self._launch(service)
            self.write_status()

    def wait_until_running(self, timeout: float) -> None:
        """Wait for every service to answer; one that exits meanwhile is an error (a bad setup,
        not a crash to retry)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for service in self.services:
                    if service.state == STARTING and service.process.poll() is not None:
                        raise RuntimeError(f"{service.name} exited with code {service.process.returncode}; "
                                           f"see {service.log_path}")
                    self._check_started(service)
                pending = [s.name for s in self.services if s.state != RUNNING]
                self.write_status()
            if not pending:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{', '.join(pending)} did not answer within {timeout:.0f}s")
            time.sleep(0.5)

    def supervise_once(self) -> None:
        with self._lock:
            now = time.monotonic()
            for service in self.services:
                self._step(service, now)
            self.write_status()

    def _step(self, service: Service, now: float) -> None:
        window_start = now - self.settings.crash_window
        while service.crashes and service.crashes[0] < window_start:
            service.crashes.popleft()
        if service.state in (BACKOFF, CRASH_LOOPING):
            if now >= service.next_start_at:
                service.restarts += 1
                try:
                    self._launch(service)
                except OSError as exc:  # no process at all (out of file handles...): a crash too
                    self._crashed(service, now, f"could not start: {exc}")
            return
        if service.state not in (STARTING, RUNNING):
            return
        code = service.process.poll()
        if code is not None:
            try:  # just reaped; what it started may still hold its port
                os.killpg(service.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._crashed(service, now, f"exit code {code}")
        elif service.state == STARTING and not self._check_started(service) \
                and now - service.started_at > service.start_timeout:
            service.kill()
            self._crashed(service, now, f"did not answer within {service.start_timeout:.0f}s")
        elif service.state == RUNNING and service.health_url and now >= service.next_check_at:
            # Alive but not answering (hung) is as bad as dead: after a few failed checks, restart it.
            service.next_check_at = now + self.settings.liveness_interval
            service.failed_checks = 0 if service.healthy() else service.failed_checks + 1
            if service.failed_checks >= self.settings.liveness_failures:
                service.failed_checks = 0
                service.kill()
                self._crashed(service, now, f"stopped answering ({self.settings.liveness_failures} health checks "
                                            "in a row)")

    def _check_started(self, service: Service) -> bool:
        if service.state == STARTING and service.healthy():
            self._enter(service, RUNNING)
            if service.restarts:
                self.report(f"{service.name} is back (restart {service.restarts}).")
        return service.state == RUNNING

    def _crashed(self, service: Service, now: float, reason: str) -> None:
        service.last_exit_code = service.process.returncode
        service.crashes.append(now)
        crashes = len(service.crashes)
        service.backoff = self.backoff_for(crashes)
        service.next_start_at = now + service.backoff
        looping = crashes >= self.settings.crash_loop_threshold
        self._enter(service, CRASH_LOOPING if looping else BACKOFF)
        what = (f"is crash-looping ({crashes} crashes in {self.settings.crash_window:.0f}s; {reason})" if looping
                else f"stopped unexpectedly ({reason})")
        self.report(f"{service.name} {what}; restarting it in {service.backoff:.1f}s. See {service.log_path}")

    def _launch(self, service: Service) -> None:
        service.start(self.env, self.log_settings)
        self._enter(service, STARTING)

    @staticmethod
    def _enter(service: Service, state: str) -> None:
        service.state, service.since = state, time.time()

    def status(self) -> dict[str, Any]:
        return {"launcher_pid": os.getpid(), "updated_at": datetime.now().isoformat(timespec="seconds"),
                "crash_window_seconds": self.settings.crash_window,
                "crash_loop_threshold": self.settings.crash_loop_threshold,
                "services": [s.status(self.settings) for s in self.services]}

    def write_status(self) -> None:
        """Write the status file when something changed (atomically, owner-only)."""
        if self.status_path is None:
            return
        status = self.status()
        if status["services"] != self._written:
            self.status_path.parent.mkdir(parents=True, exist_ok=True)
            write_private_file(self.status_path, json.dumps(status, indent=2) + "\n")
            self._written = status["services"]

    def start_supervisor(self, interval: float = 0.5) -> None:
        """Supervise in a background thread until stop_supervisor() (tests, embedding)."""
        if self._thread is not None:
            return
        self._halt.clear()
        self._thread = threading.Thread(target=self._supervise_until_halted, args=(interval,), daemon=True,
                                        name="supervisor")
        self._thread.start()

    def _supervise_until_halted(self, interval: float) -> None:
        while not self._halt.wait(interval):
            try:
                self.supervise_once()
            except Exception:  # keep supervising: one failed step must not orphan every service
                logger.exception("supervision step failed")

    def stop_supervisor(self) -> None:
        if self._thread is not None:
            self._halt.set()
            self._thread.join()
            self._thread = None

    def stop_all(self) -> None:
        self.stop_supervisor()
        with self._lock:
            for service in reversed(self.services):
                service.stop()
                self._enter(service, STOPPED)
                if service.log is not None:
                    service.log.close()
            self.write_status()


# --- `python -m bot status` ---------------------------------------------------------------------


def _launcher_alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:
        return True
    return True


def describe_status(path: Path) -> tuple[str, bool]:
    """A readable status of the running assistant, and whether every service is running normally."""
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"The assistant is not running (no {path}).", False
    except (OSError, ValueError) as exc:
        return f"Cannot read {path}: {exc}", False
    services = status.get("services", [])
    window = status.get("crash_window_seconds")
    lines = [f"Status of {path} (updated {status.get('updated_at', '?')}, launcher pid "
             f"{status.get('launcher_pid', '?')}; crashes counted over {window:g}s)" if window else f"Status of {path}"]
    lines.append(f"{'service':<22}{'state':<15}{'pid':>8}{'restarts':>10}{'crashes':>9}{'last exit':>11}  since")
    for s in services:
        pid = s.get("pid") or "-"
        code = "-" if s.get("last_exit_code") is None else s["last_exit_code"]
        lines.append(f"{s.get('name', '?'):<22}{s.get('state', '?'):<15}{pid:>8}{s.get('restarts', 0):>10}"
                     f"{s.get('crashes_in_window', 0):>9}{code:>11}  {s.get('since', '?')}")
    ok = bool(services) and all(s.get("state") == RUNNING and not s.get("crash_looping") for s in services)
    problems = [f"{s['name']} is crash-looping; see {s.get('log')}" for s in services if s.get("crash_looping")]
    if not _launcher_alive(status.get("launcher_pid")) and any(s.get("state") != STOPPED for s in services):
        problems.append("the launcher is not running: this status is stale")
        ok = False
    if all(s.get("state") == STOPPED for s in services):
        problems.append("the assistant is stopped")
    return "\n".join(lines + problems), ok
