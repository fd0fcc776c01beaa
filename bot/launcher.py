"""Start every process of the assistant, wait until each answers, stop them all together.

Used by the run command (scripts/run.sh), the end-to-end tests and the benchmark, so all
three start the assistant the same way.
"""
from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bot.config import REPO_ROOT, VAR_DIR, ConfigError, load_settings, load_vianet_settings

logger = logging.getLogger(__name__)
BIN = Path(sys.executable).parent
MAX_RESTARTS = 5


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "RASA_TELEMETRY_ENABLED": "false",  # billing conversations never leave the machine
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
        # The action server trusts the trackers it is sent: only the local Rasa server may reach it.
        "SANIC_HOST": "127.0.0.1",
    })
    env.update(extra or {})
    return env


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str | None  # None: a worker without HTTP; healthy while it runs
    log_path: Path
    port: int | None
    process: subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = 0.0

    def start(self, env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        self.started_at = time.monotonic()
        log.close()

    def healthy(self) -> bool:
        if self.health_url is None:
            return self.process is not None and self.process.poll() is None and time.monotonic() - self.started_at > 2
        try:
            return requests.get(self.health_url, timeout=2).ok
        except requests.RequestException:
            return False

    def stop(self, grace: float = 10.0) -> None:
        if not self.process or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass


@dataclass
class Stack:
    model: Path
    rasa_port: int = 5005
    action_port: int = 5055
    vianet_port: int = 8765
    endpoints: Path = REPO_ROOT / "endpoints.yml"
    log_dir: Path = VAR_DIR / "logs"
    env: dict[str, str] = field(default_factory=dict)
    rasa_api_token: str = field(default_factory=lambda: load_settings().rasa_api_token or secrets.token_hex(16))
    services: list[Service] = field(default_factory=list)

    def __post_init__(self) -> None:
        rasa, python = str(BIN / "rasa"), str(BIN / "python")
        # `env` (tests, benchmark) overrides the settings read from this process's environment.
        vianet = load_vianet_settings() if "VIANET_API_URL" not in self.env else None
        upstream = self.env["VIANET_API_URL"] if vianet is None else (vianet.base_url or "")
        # Without a real 21Vianet API configured, the local stand-in is the demo upstream, unless
        # BOT_LOCAL_VIANET=false: then escalations go to the partner-staff queue.
        self.local_vianet = not upstream and load_settings().local_vianet
        if self.local_vianet:
            token = self.env.get("VIANET_API_TOKEN") or (vianet.token if vianet else None) or secrets.token_hex(16)
            self.env = {**self.env, "VIANET_API_URL": f"http://127.0.0.1:{self.vianet_port}", "VIANET_API_TOKEN": token}
        self.env = {"ESCALATION_NOTIFY_HOOK": "bot.integrations.rasa_api:push_resolution",
                    "RASA_URL": f"http://127.0.0.1:{self.rasa_port}", **self.env}
        self.services = [
            Service("action server", [rasa, "run", "actions", "--actions", "actions", "--port", str(self.action_port)],
                    f"http://127.0.0.1:{self.action_port}/health", self.log_dir / "actions.log", self.action_port),
            # The HTTP API is on (a later issue pushes messages into conversations through it) but
            # only with the token, and only on localhost.
            Service("rasa server", [rasa, "run", "--model", str(self.model), "--port", str(self.rasa_port),
                                    "--interface", "127.0.0.1", "--credentials", str(REPO_ROOT / "credentials.yml"),
                                    "--endpoints", str(self.endpoints), "--enable-api",
                                    "--auth-token", self.rasa_api_token],
                    f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/", self.log_dir / "rasa.log", self.rasa_port),
        ]
        if self.local_vianet:
            self.services.append(Service(
                "local 21Vianet API", [python, "-m", "devservers.vianet", "--port", str(self.vianet_port),
                                       "--state-file", str(self.log_dir.parent / "vianet-state.json")],
                f"http://127.0.0.1:{self.vianet_port}/_admin/health", self.log_dir / "vianet.log", self.vianet_port))
        self.services.append(Service("escalation worker", [python, "-m", "bot.escalation", "worker"], None,
                                     self.log_dir / "worker.log", None))

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook"

    @property
    def child_env(self) -> dict[str, str]:
        return child_environment({**self.env, "RASA_API_TOKEN": self.rasa_api_token})

    def start(self, timeout: float = 300.0) -> None:
        busy = [f"{s.name} port {s.port}" for s in self.services if s.port and port_in_use(s.port)]
        if busy:
            raise RuntimeError(f"already in use: {', '.join(busy)}. Is the assistant already running?")
        env = self.child_env
        for service in self.services:
            service.start(env)
        deadline = time.monotonic() + timeout
        pending = list(self.services)
        while pending:
            for service in list(pending):
                if service.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{service.name} exited with code {service.process.returncode}; "
                                       f"see {service.log_path}")
                if service.healthy():
                    pending.remove(service)
            if pending and time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{', '.join(s.name for s in pending)} did not answer within {timeout:.0f}s")
            time.sleep(0.5)

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()

    def crashed(self) -> Service | None:
        return next((s for s in self.services if s.process and s.process.poll() is not None), None)

    def restart(self, service: Service, timeout: float = 300.0) -> None:
        """Start a crashed service again and wait until it answers."""
        service.restarts += 1
        service.start(self.child_env)
        deadline = time.monotonic() + timeout
        while not service.healthy():
            if service.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{service.name} did not come back; see {service.log_path}")
            time.sleep(0.5)


def main() -> int:
    from bot.identity import issue_token
    from bot.model import model_path

    model = model_path()
    if not model.exists():
        print(f"No trained model at {model}; run scripts/run.sh, which trains one.", file=sys.stderr)
        return 1
    try:
        stack = Stack(model=model)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    print("Starting the action server (5055), the Rasa server (5005), the escalation worker and, unless "
          "VIANET_API_URL is set, the local 21Vianet API (8765)...", flush=True)

    def _stop(signum, _frame):
        raise KeyboardInterrupt

    # Explicitly: a shell starts background jobs with SIGINT ignored, and Python keeps that.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    try:
        stack.start()
        token = issue_token("C-1001")
        vianet_help = (f"Escalations go to the local 21Vianet API at {stack.env['VIANET_API_URL']} (a stand-in for the "
                       "real one). Close a ticket there with:\n  .venv/bin/python -m devservers.vianet close <id> "
                       f"--url {stack.env['VIANET_API_URL']}\nPartner-staff queue: .venv/bin/python -m bot.escalation queue"
                       if stack.local_vianet else
                       f"Escalations go to {stack.env.get('VIANET_API_URL') or 'the partner-staff queue (no 21Vianet API)'}.")
        print(f"""
The billing assistant is ready. Logs: {stack.log_dir}

Talk to it over REST as the demo customer Contoso Ltd (C-1001):
  TOKEN=$(.venv/bin/python -m bot token C-1001)
  curl -s localhost:5005/webhooks/rest/webhook -H 'Content-Type: application/json' \\
    -d '{{"sender": "demo-1", "message": "what is my balance?", "metadata": {{"customer_token": "'$TOKEN'"}}}}'

A token for Contoso, valid for an hour:
  {token}
Other demo customers: C-1002 Fabrikam (suspended), C-1003 Northwind (paid twice), C-1004 Tailspin.
{vianet_help}
Press Ctrl-C to stop everything.""", flush=True)
        while True:
            crashed = stack.crashed()
            if crashed:
                if crashed.restarts >= MAX_RESTARTS:
                    print(f"{crashed.name} keeps stopping; see {crashed.log_path}. Stopping.", file=sys.stderr)
                    return 1
                print(f"{crashed.name} stopped unexpectedly (code {crashed.process.returncode}); restarting it. "
                      f"Conversations are kept (tracker store in var/).", file=sys.stderr, flush=True)
                stack.restart(crashed)
                print(f"{crashed.name} is back.", flush=True)
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
        return 0
    except RuntimeError as exc:
        print(f"Could not start the assistant: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
