"""The supervisor, the process list and the log files of bot/launcher.py, with real processes.

The services here are small real servers (an HTTP server, the local 21Vianet API, the real
action server) so the tests need no trained model.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bot.config import REPO_ROOT, LogSettings, SupervisorSettings
from bot.identity import issue_token
from bot.launcher import Stack
from bot.supervisor import CRASH_LOOPING, RUNNING, STARTING, Service, Supervisor, child_environment
from bot.serve import rasa_arguments
from tests.conftest import TEST_SECRET

PYTHON = sys.executable
HTTP_SERVER = ("import http.server, sys\n"
               "class Ok(http.server.BaseHTTPRequestHandler):\n"
               "    def do_GET(self):\n"
               "        self.send_response(200); self.end_headers(); self.wfile.write(b'ok')\n"
               "    def log_message(self, *args): pass\n"
               "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), Ok).serve_forever()\n")
FAST = SupervisorSettings(restart_backoff_base=0.05, restart_backoff_cap=0.4, crash_window=300,
                          crash_loop_threshold=5)
LOGS = LogSettings(line_max=2000, max_bytes=1_000_000, backups=2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_service(name: str, log_dir: Path) -> Service:
    port = free_port()
    return Service(name, [PYTHON, "-c", HTTP_SERVER, str(port)], f"http://127.0.0.1:{port}/", log_dir / f"{name}.log",
                   port)


def wait_for(condition, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def session_processes(leader: int) -> list[int]:
    """Every process of the session a service was started in (it and its children)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if entry.name.isdigit() and int(fields[3]) == leader:  # field 6 of stat: session id
            found.append(int(entry.name))
    return found


@pytest.fixture()
def supervisor(tmp_path):
    created: list[Supervisor] = []

    def make(services: list[Service], settings: SupervisorSettings = FAST, env: dict | None = None) -> Supervisor:
        sup = Supervisor(services, env=child_environment(env), settings=settings, log_settings=LOGS,
                         status_path=tmp_path / "status.json", report=reports.append)
        created.append(sup)
        return sup

    reports: list[str] = []
    make.reports = reports
    yield make
    for sup in created:
        sup.stop_all()


def test_a_service_killed_ten_times_comes_back_each_time_and_the_others_are_untouched(tmp_path, supervisor):
    flaky = http_service("flaky", tmp_path / "logs")
    vianet_port = free_port()
    vianet = Service("local 21Vianet API", [PYTHON, "-m", "devservers.vianet", "--port", str(vianet_port)],
                     f"http://127.0.0.1:{vianet_port}/_admin/health", tmp_path / "logs" / "vianet.log", vianet_port)
    worker = Service("worker", [PYTHON, "-c", "import time; time.sleep(3600)"], None, tmp_path / "logs" / "w.log",
                     None)
    sup = supervisor([flaky, vianet, worker], env={"VIANET_API_TOKEN": "vianet-test-token"})
    sup.start_all()
    sup.wait_until_running(60)
    others = {s.name: s.process.pid for s in (vianet, worker)}
    sup.start_supervisor(interval=0.05)

    backoffs = []
    for kill in range(1, 11):
        pid = flaky.process.pid
        os.killpg(pid, signal.SIGKILL)
        wait_for(lambda: flaky.restarts == kill and flaky.state == RUNNING, what=f"restart {kill}")
        assert flaky.process.pid != pid and requests.get(flaky.health_url, timeout=2).ok
        assert flaky.last_exit_code == -signal.SIGKILL
        backoffs.append(flaky.backoff)

    # The wait doubles with each crash in the window, up to the cap.
    assert backoffs == [0.05, 0.1, 0.2, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4]
    assert {s.name: s.process.pid for s in (vianet, worker)} == others
    assert vianet.restarts == worker.restarts == 0 and vianet.state == worker.state == RUNNING
    assert requests.get(vianet.health_url, timeout=2).ok

    # Reported as crash-looping, in the log and in the status file, while still retried.
    assert any("flaky is crash-looping (5 crashes in 300s" in line for line in supervisor.reports)
    status_path = tmp_path / "status.json"
    wait_for(lambda: json.loads(status_path.read_text())["services"][0]["state"] == RUNNING, what="status")
    status = {s["name"]: s for s in json.loads(status_path.read_text())["services"]}
    assert status["flaky"]["crash_looping"] and status["flaky"]["crashes_in_window"] == 10
    assert status["flaky"]["restarts"] == 10 and status["flaky"]["pid"] == flaky.process.pid
    assert status["flaky"]["last_exit_code"] == -signal.SIGKILL
    assert not status["worker"]["crash_looping"] and status["worker"]["restarts"] == 0
    assert stat.S_IMODE(status_path.stat().st_mode) == 0o600
    shown = subprocess.run([PYTHON, "-m", "bot", "status", "--file", str(status_path)], cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 1 and "flaky is crash-looping" in shown.stdout, shown.stdout + shown.stderr


def test_a_crash_looping_service_waits_in_its_own_state_without_holding_up_the_others(tmp_path, supervisor):
    always_crashes = Service("broken", [PYTHON, "-c", "raise SystemExit(3)"], None, tmp_path / "broken.log", None)
    never_answers = Service("silent", [PYTHON, "-c", "import time; time.sleep(3600)"],
                            f"http://127.0.0.1:{free_port()}/", tmp_path / "silent.log", None)
    flaky = http_service("flaky", tmp_path)
    slow = SupervisorSettings(restart_backoff_base=0.2, restart_backoff_cap=1.0, crash_window=300,
                              crash_loop_threshold=3)
    sup = supervisor([always_crashes, never_answers, flaky], settings=slow)
    sup.start_all()
    sup.start_supervisor(interval=0.05)
    wait_for(lambda: always_crashes.state == CRASH_LOOPING, what="crash loop")
    wait_for(lambda: flaky.state == RUNNING, what="flaky running")
    pid = flaky.process.pid
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: flaky.state == RUNNING and flaky.process.pid != pid, timeout=10, what="flaky back")
    assert never_answers.state == STARTING  # still waited for, and it held up nothing
    assert always_crashes.backoff <= 1.0 and always_crashes.last_exit_code == 3
    status = json.loads((tmp_path / "status.json").read_text())
    broken = next(s for s in status["services"] if s["name"] == "broken")
    assert broken["crash_looping"] and broken["state"] in (CRASH_LOOPING, STARTING)


def test_stop_all_stops_every_process_and_says_so(tmp_path, supervisor):
    services = [http_service("a", tmp_path), http_service("b", tmp_path)]
    sup = supervisor(services)
    sup.start_all()
    sup.wait_until_running(30)
    sup.start_supervisor(interval=0.05)
    processes = [s.process for s in services]
    sup.stop_all()
    assert all(p.poll() is not None for p in processes)
    status = json.loads((tmp_path / "status.json").read_text())
    assert {s["state"] for s in status["services"]} == {"stopped"}
    shown = subprocess.run([PYTHON, "-m", "bot", "status", "--file", str(tmp_path / "status.json")], cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 1 and "stopped" in shown.stdout


def test_no_secret_in_any_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_TOKEN_SECRET", TEST_SECRET)
    secrets = {"RASA_API_TOKEN": "rasa-api-token-for-the-test", "VIANET_API_TOKEN": "vianet-token-for-the-test",
               "BOT_TOKEN_SECRET": TEST_SECRET, "SLACK_SIGNING_SECRET": "slack-signing-secret-test"}
    token = issue_token("C-1001")
    stack = Stack(model=tmp_path / "model.tar.gz", rasa_port=free_port(), action_port=free_port(),
                  vianet_port=free_port(), log_dir=tmp_path / "logs", rasa_api_token=secrets["RASA_API_TOKEN"],
                  env={**secrets, "VIANET_API_URL": "", "BOT_LOCAL_VIANET": "true"},
                  supervisor_settings=FAST, log_settings=LOGS)
    for service in stack.services:
        assert not any(value in arg for value in [*secrets.values(), token] for arg in service.command), service
        assert "--auth-token" not in service.command

    # The real action server and 21Vianet API, started as the stack starts them (no Rasa: no model here).
    started = [s for s in stack.services if s.name in ("action server", "local 21Vianet API")]
    sup = Supervisor(started, env=stack.child_env, settings=FAST, log_settings=LOGS)
    try:
        sup.start_all()
        sup.wait_until_running(120)
        for service in started:
            pids = session_processes(service.process.pid)
            assert service.process.pid in pids
            for pid in pids:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
                assert not any(value in cmdline for value in [*secrets.values(), "eyJ"]), cmdline
            # The secrets did arrive, by environment.
            environ = Path(f"/proc/{service.process.pid}/environ").read_bytes().decode()
            assert f"RASA_API_TOKEN={secrets['RASA_API_TOKEN']}" in environ.split("\0")
    finally:
        sup.stop_all()
    assert (tmp_path / "logs" / "actions.log").read_text()  # it logged, through the pipe


def test_rasa_gets_its_api_token_from_the_environment_inside_the_process():
    env = {"RASA_API_TOKEN": "rasa-api-token-1234"}
    assert rasa_arguments(["run", "--enable-api"], env) == ["run", "--enable-api",
                                                            "--auth-token", "rasa-api-token-1234"]
    assert rasa_arguments(["run", "actions"], env) == ["run", "actions"]
    assert rasa_arguments(["run", "--enable-api"], {}) == ["run", "--enable-api"]
    refused = subprocess.run([PYTHON, "-m", "bot.serve", "rasa", "run", "--auth-token", "x"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "RASA_API_TOKEN" in refused.stderr


CHATTY = ("import os, sys, time\n"
          "for i in range(4000):\n"
          "    print(f'line {i} ' + 'y' * 100)\n"
          "print('a token', sys.argv[1], 'a secret', os.environ['SLACK_BOT_TOKEN'])\n"
          "print('z' * 100_000)\n"
          "print('done', flush=True)\n"
          "time.sleep(3600)\n")


def test_logs_are_owner_only_redacted_cut_and_rotated_at_the_size_limit(tmp_path, supervisor, monkeypatch):
    monkeypatch.setenv("BOT_TOKEN_SECRET", TEST_SECRET)
    token = issue_token("C-1001")
    log_path = tmp_path / "logs" / "chatty.log"
    chatty = Service("chatty", [PYTHON, "-c", CHATTY, token], None, log_path, None)
    # The child redacts nothing itself: this is the launcher's redaction, with the child's secrets.
    sup = Supervisor([chatty], env=child_environment({"SLACK_BOT_TOKEN": "xoxb-only-the-child-has-it"}), settings=FAST,
                     log_settings=LogSettings(line_max=500, max_bytes=100_000, backups=2), report=lambda _: None)
    try:
        sup.start_all()
        wait_for(lambda: log_path.exists() and "done" in log_path.read_text(), what="the last line")
    finally:
        sup.stop_all()
    files = sorted(log_path.parent.iterdir())
    assert [f.name for f in files] == ["chatty.log", "chatty.log.1", "chatty.log.2"]  # 4 files' worth, 2 kept
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        assert f.stat().st_size <= 100_000
        assert token not in f.read_text() and "eyJ" not in f.read_text()
    last = log_path.read_text()
    assert "line 3999 " in last and "a token [redacted] a secret [redacted]" in last
    assert "z" * 500 + "... [truncated]" in last
    assert all(len(line) <= 500 + 200 + 40 for f in files for line in f.read_text().splitlines())


def test_a_hung_server_that_stops_answering_is_restarted(tmp_path, supervisor):
    hung = http_service("hung", tmp_path / "logs")
    steady = http_service("steady", tmp_path / "logs")
    watched = SupervisorSettings(restart_backoff_base=0.05, restart_backoff_cap=0.4, crash_window=300,
                                 crash_loop_threshold=5, liveness_interval=0.2, liveness_failures=3)
    sup = supervisor([hung, steady], settings=watched)
    sup.start_all()
    sup.wait_until_running(60)
    sup.start_supervisor(interval=0.05)
    frozen, steady_pid = hung.process.pid, steady.process.pid
    os.kill(frozen, signal.SIGSTOP)  # alive, holding its port, answering nothing
    wait_for(lambda: hung.restarts == 1 and hung.state == RUNNING, what="the hung server restarted")
    assert hung.process.pid != frozen and requests.get(hung.health_url, timeout=2).ok
    assert any("hung stopped unexpectedly (stopped answering (3 health checks in a row))" in line
               for line in supervisor.reports), supervisor.reports
    assert steady.process.pid == steady_pid and steady.restarts == 0
