"""The local Bot Framework stand-in for the end-to-end tests (one per session, registered in
conftest.py), and a Teams user to play against the real Rasa server: activities signed with the
stand-in's key to /webhooks/botframework/webhook, replies read back from its connector."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
import requests

from bot.config import REPO_ROOT
from devservers.teams.signing import DEFAULT_APP_ID, Person, build_activity, load_or_create_key, sign_channel_token
from tests.e2e.test_escalation_loop import wait_for

TEAMS_PORT = int(os.environ.get("E2E_TEAMS_PORT", "9067"))
RASA_PORT = int(os.environ.get("E2E_RASA_PORT", "5205"))

STANDIN = f"http://127.0.0.1:{TEAMS_PORT}"
SERVICE_URL = f"{STANDIN}/"
WEBHOOK = f"http://127.0.0.1:{RASA_PORT}/webhooks/botframework/webhook"
MEI = Person("a1a1a1a1-0000-4000-8000-000000000001", name="Mei Chen")
LI = Person("a1a1a1a1-0000-4000-8000-000000000002", name="Li Wei")
STRANGER = Person("a1a1a1a1-0000-4000-8000-0000000000ff", name="Not Listed")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="session")
def teams(tmp_path_factory):
    """The stand-in, as its own process (the Rasa server reads its keys lazily, so the order of
    starting does not matter)."""
    folder = tmp_path_factory.mktemp("teams")
    key_file = folder / "signing-key.pem"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTFRAMEWORK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    with open(folder / "standin.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "devservers.teams", "serve", "--port", str(TEAMS_PORT),
                                    "--key-file", str(key_file)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        config = wait_for(lambda: _get("/_admin/config"), timeout=30, every=0.2)
        yield {"config": config, "key": load_or_create_key(key_file)}
    finally:
        process.terminate()
        process.wait(timeout=10)


def _get(path):
    try:
        return requests.get(f"{STANDIN}{path}", timeout=3).json()
    except (requests.RequestException, ValueError):
        return None


def recorded() -> list[dict]:
    return requests.get(f"{STANDIN}/_admin/activities", timeout=5).json()["activities"]


def send(teams, activity, key=None, **claims) -> requests.Response:
    config = teams["config"]
    options = {"issuer": config["issuer"], "app_id": config["app_id"], "service_url": activity["serviceUrl"], **claims}
    token = sign_channel_token(key or teams["key"], **options)
    return requests.post(WEBHOOK, json=activity, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def replies_to(activity, count=1, timeout=60.0) -> list[dict]:
    """The bot's activities in the activity's conversation answering it, once `count` arrived."""
    def arrived():
        found = [a["activity"] for a in recorded() if a["conversation_id"] == activity["conversation"]["id"]
                 and a["activity"].get("replyToId") == activity["id"]]
        return found if len(found) >= count else None
    found = wait_for(arrived, timeout=timeout, every=0.3)
    time.sleep(0.5)  # anything more from the same turn
    return [a["activity"] for a in recorded() if a["conversation_id"] == activity["conversation"]["id"]
            and a["activity"].get("replyToId") == activity["id"]] or found


def message(person, text, **kwargs):
    return build_activity(person, text, service_url=SERVICE_URL, app_id=DEFAULT_APP_ID, **kwargs)
