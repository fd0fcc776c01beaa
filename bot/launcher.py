"""Start every process of the assistant, wait until each answers, keep them running, stop them all together.

Used by the run command (scripts/run.sh), the end-to-end tests and the benchmark, so all
three start the assistant the same way.

Keeping them running (restarts with backoff, crash loops, rotated logs, the status file) is
bot/supervisor.py; this module knows which processes the assistant is made of.
"""
from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import (
    REPO_ROOT,
    VAR_DIR,
    ConfigError,
    LogSettings,
    SupervisorSettings,
    load_botframework_settings,
    load_handoff_settings,
    load_partner_center_settings,
    load_settings,
    load_slack_settings,
    load_vianet_settings,
    load_widget_settings,
)
from bot.redaction import install
from bot.supervisor import OWNER_ONLY_DIR, OWNER_ONLY_UMASK, Service, Supervisor, child_environment, restrict_to_owner

logger = logging.getLogger(__name__)
BIN = Path(sys.executable).parent


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Stack:
    model: Path
    rasa_port: int = 5005
    action_port: int = 5055
    vianet_port: int = 8765
    site_port: int = field(default_factory=lambda: load_widget_settings().site_port)  # the demo partner site
    console_port: int = field(default_factory=lambda: load_handoff_settings().console_port)  # the agent console
    endpoints: Path = REPO_ROOT / "endpoints.yml"
    log_dir: Path = VAR_DIR / "logs"
    env: dict[str, str] = field(default_factory=dict)
    rasa_api_token: str = field(default_factory=lambda: load_settings().rasa_api_token or secrets.token_hex(16))
    services: list[Service] = field(default_factory=list)
    supervisor_settings: SupervisorSettings | None = None  # default: read from the environment
    log_settings: LogSettings | None = None
    supervisor: Supervisor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        python = str(BIN / "python")
        # `env` (tests, benchmark) overrides the settings read from this process's environment.
        vianet = load_vianet_settings() if "VIANET_API_URL" not in self.env else None
        upstream = self.env["VIANET_API_URL"] if vianet is None else (vianet.base_url or "")
        # Without a real 21Vianet API configured, the local stand-in is the demo upstream, unless
        # BOT_LOCAL_VIANET=false: then escalations go to the partner-staff queue.
        self.local_vianet = not upstream and load_settings().local_vianet
        if self.local_vianet:
            token = self.env.get("VIANET_API_TOKEN") or (vianet.token if vianet else None) or secrets.token_hex(16)
            self.env = {**self.env, "VIANET_API_URL": f"http://127.0.0.1:{self.vianet_port}", "VIANET_API_TOKEN": token}
            # The stand-in also plays Partner Center's subscriptions: suspensions and reactivations go there.
            if "PARTNER_CENTER_API_URL" not in self.env and load_partner_center_settings().base_url is None:
                self.env = {**self.env, "PARTNER_CENTER_API_URL": f"http://127.0.0.1:{self.vianet_port}",
                            "PARTNER_CENTER_TOKEN": token}
        self._use_platform_stand_ins()
        self.env = {"ESCALATION_NOTIFY_HOOK": "bot.conversations.push:push_resolution",
                    "RASA_URL": f"http://127.0.0.1:{self.rasa_port}",
                    # The demo site's widget talks to this Rasa server; its pages are the allowed Origins.
                    "BOT_SITE_PORT": str(self.site_port), "BOT_SITE_BOT_URL": f"http://127.0.0.1:{self.rasa_port}",
                    **self.env}
        # Secrets reach the processes only through the environment (RASA_API_TOKEN, VIANET_API_TOKEN,
        # BOT_TOKEN_SECRET), never as arguments: `ps` shows arguments to every user.
        serve = [python, "-m", "bot.serve"]
        self.services = [
            Service("action server", [*serve, "actions", "--actions", "actions", "--port", str(self.action_port)],
                    f"http://127.0.0.1:{self.action_port}/health", self.log_dir / "actions.log", self.action_port),
            # The HTTP API is on (the worker pushes news into conversations through it) but only
            # with the token (bot.serve adds it from RASA_API_TOKEN), and only on localhost.
            Service("rasa server", [*serve, "rasa", "run", "--model", str(self.model), "--port", str(self.rasa_port),
                                    "--interface", "127.0.0.1", "--credentials", str(REPO_ROOT / "credentials.yml"),
                                    "--endpoints", str(self.endpoints), "--enable-api"],
                    f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/", self.log_dir / "rasa.log", self.rasa_port),
        ]
        if self.local_vianet:
            self.services.append(Service(
                "local 21Vianet API", [python, "-m", "devservers.vianet", "--port", str(self.vianet_port),
                                       "--state-file", str(self.log_dir.parent / "vianet-state.json")],
                f"http://127.0.0.1:{self.vianet_port}/_admin/health", self.log_dir / "vianet.log", self.vianet_port))
        self.services.append(Service(
            "demo partner site", [python, "-m", "devservers.partner_site", "--port", str(self.site_port)],
            f"http://127.0.0.1:{self.site_port}/health", self.log_dir / "site.log", self.site_port))
        if self.local_slack:
            self.services.append(Service(
                "local Slack API", [python, "-m", "devservers.slack", "serve", "--port", str(self.slack_port)],
                f"http://127.0.0.1:{self.slack_port}/_admin/health", self.log_dir / "slack.log", self.slack_port))
        if self.local_teams:
            self.services.append(Service(
                "local Bot Framework (Teams)", [python, "-m", "devservers.teams", "serve", "--port", str(self.teams_port),
                                                "--key-file", str(self.log_dir.parent / "teams-standin" / "signing-key.pem")],
                f"http://127.0.0.1:{self.teams_port}/_admin/health", self.log_dir / "teams.log", self.teams_port))
        # Support agents' console; it reads transcripts and delivers agents' words through the Rasa API.
        self.services.append(Service(
            "agent console", [python, "-m", "bot.console", "--port", str(self.console_port)],
            f"http://127.0.0.1:{self.console_port}/health", self.log_dir / "console.log", self.console_port))
        self.services.append(Service("escalation worker", [python, "-m", "bot.escalation", "worker"], None,
                                     self.log_dir / "worker.log", None))
        self.supervisor = Supervisor(self.services, settings=self.supervisor_settings, log_settings=self.log_settings,
                                     status_path=self.status_path)

    def _use_platform_stand_ins(self) -> None:
        """Without a real Slack or Teams configured, the run command starts local stand-ins that speak
        their APIs and points the channels at them, so staff can be played from a terminal. The Slack
        signing secret is made per run and kept owner-only in var/slack/ for `devservers.slack say`."""
        slack, teams = load_slack_settings(), load_botframework_settings()
        # A real Slack app (any of its settings given) is never replaced by the stand-in.
        self.local_slack = not slack.configured and not any(name in self.env for name in (
            "SLACK_API_URL", "SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN"))
        if self.local_slack:
            self.slack_port = slack.stand_in_port
            self.env = {**self.env, "SLACK_API_URL": f"http://127.0.0.1:{self.slack_port}/api",
                        "SLACK_SIGNING_SECRET": secrets.token_hex(32),
                        "SLACK_BOT_TOKEN": f"xoxb-local-{secrets.token_hex(12)}"}
        self.local_teams = "BOTFRAMEWORK_APP_ID" not in self.env and teams.app_id is None
        if self.local_teams:
            from devservers.teams import bot_env

            self.teams_port = teams.stand_in_port
            self.env = {**self.env, **bot_env(self.teams_port)}

    def _write_slack_secret(self) -> None:
        folder = self.log_dir.parent / "slack"
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, OWNER_ONLY_DIR)
        secret_file = folder / "signing-secret"
        secret_file.touch(mode=0o600, exist_ok=True)
        os.chmod(secret_file, 0o600)
        secret_file.write_text(self.env["SLACK_SIGNING_SECRET"])

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook"

    @property
    def site_url(self) -> str:
        return f"http://localhost:{self.site_port}"

    @property
    def console_url(self) -> str:
        return f"http://localhost:{self.console_port}/"

    @property
    def status_path(self) -> Path:
        return self.log_dir.parent / "status.json"

    @property
    def child_env(self) -> dict[str, str]:
        return child_environment({**self.env, "RASA_API_TOKEN": self.rasa_api_token})

    def start(self, timeout: float = 300.0) -> None:
        """Start every service and wait until each answers; any failure stops them all."""
        busy = [f"{s.name} port {s.port}" for s in self.services if s.port and port_in_use(s.port)]
        if busy:
            raise RuntimeError(f"already in use: {', '.join(busy)}. Is the assistant already running?")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.log_dir, OWNER_ONLY_DIR)
        if self.local_slack:
            self._write_slack_secret()
        self.supervisor.env = self.child_env
        try:
            self.supervisor.start_all()
            self.supervisor.wait_until_running(timeout)
        except BaseException:
            self.stop()
            raise

    def supervise_once(self) -> None:
        self.supervisor.supervise_once()

    def start_supervisor(self, interval: float = 0.5) -> None:
        self.supervisor.start_supervisor(interval)

    def stop_supervisor(self) -> None:
        self.supervisor.stop_supervisor()

    def stop(self) -> None:
        self.supervisor.stop_all()

    def crashed(self) -> Service | None:
        return next((s for s in self.services if s.process and s.process.poll() is not None), None)


def main() -> int:
    os.umask(OWNER_ONLY_UMASK)  # databases, logs and state files: readable by their owner only
    from bot.model import model_path
    from bot.seed import DEMO_AGENTS

    model = model_path()
    if not model.exists():
        print(f"No trained model at {model}; run scripts/run.sh, which trains one.", file=sys.stderr)
        return 1
    restrict_to_owner(VAR_DIR)
    try:
        install()
        stack = Stack(model=model)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    print(f"Starting the action server (5055), the Rasa server (5005), the escalation worker, the demo partner "
          f"site ({stack.site_port}), the agent console ({stack.console_port}) and, unless real ones are configured, "
          "local stand-ins for 21Vianet and Partner Center (8765), Slack (8766) and Teams (8767)...", flush=True)

    def _stop(signum, _frame):
        raise KeyboardInterrupt

    # Explicitly: a shell starts background jobs with SIGINT ignored, and Python keeps that.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    try:
        stack.start()
        vianet_help = (f"Escalations go to the local 21Vianet API at {stack.env['VIANET_API_URL']} (a stand-in for the "
                       "real one). Close a ticket there with:\n  .venv/bin/python -m devservers.vianet close <id> "
                       f"--url {stack.env['VIANET_API_URL']}\nPartner-staff queue: .venv/bin/python -m bot.escalation queue"
                       if stack.local_vianet else
                       f"Escalations go to {stack.env.get('VIANET_API_URL') or 'the partner-staff queue (no 21Vianet API)'}.")
        staff_help = ["Partner staff (P-01 Lakeshore): Mei Chen is a billing admin, Li Wei read-only."]
        if stack.local_slack:
            staff_help.append(f"  Slack (local stand-in on {stack.slack_port}): .venv/bin/python -m devservers.slack say "
                              'U0MEICHEN "which customers are overdue?"   (U0LIWEI: Li Wei; replies: '
                              ".venv/bin/python -m devservers.slack replies)")
        if stack.local_teams:
            staff_help.append(f"  Teams (local stand-in on {stack.teams_port}): .venv/bin/python -m devservers.teams say "
                              'a1a1a1a1-0000-4000-8000-000000000001 "how much do we owe 21Vianet?"   (...0002: Li Wei; '
                              "--locale zh-CN for Chinese)")
        staff_help.append('  REST: .venv/bin/python -m bot chat --staff P-01 "Mei Chen"')
        staff_help = "\n".join(staff_help)
        agents = ", ".join(f"{login} / {password} ({name}, {partner_id})"
                           for partner_id, name, login, password in DEMO_AGENTS)
        print(f"""
The billing assistant is ready. Logs: {stack.log_dir}  Status: .venv/bin/python -m bot status

Chat on the demo partner site: {stack.site_url}  (sign in as contoso / contoso-demo; all demo accounts are on the page)

Talk to it over REST as the demo customer Contoso Ltd (C-1001):
  TOKEN=$(.venv/bin/python -m bot token C-1001)
  curl -s localhost:5005/webhooks/rest/webhook -H 'Content-Type: application/json' \\
    -d '{{"sender": "demo-1", "message": "what is my balance?", "metadata": {{"customer_token": "'$TOKEN'"}}}}'

Or chat in this terminal, signed in: .venv/bin/python -m bot chat C-1001
Other demo customers: C-1002 Fabrikam (suspended), C-1003 Northwind (paid twice), C-1004 Tailspin.
{staff_help}

Support agents take conversations over in the agent console: {stack.console_url}
  Demo agents: {agents}
  API token for curl: .venv/bin/python -m bot agent-token P-01 "Ana Agent"
{vianet_help}
A process that stops is restarted (conversations are kept in var/). Press Ctrl-C to stop everything.""",
              flush=True)
        while True:
            try:
                stack.supervise_once()
            except Exception:  # noqa: BLE001  a failed step (disk full, a closed stderr) must not stop the others
                logger.exception("a supervision step failed; carrying on")
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
        return 0
    except RuntimeError as exc:
        print(f"Could not start the assistant: {exc}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not cut the shutdown short and leave servers holding the ports.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
