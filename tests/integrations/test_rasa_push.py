"""The worker's push hook against a local HTTP server that speaks Rasa's conversation API."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from bot.identity import verify_push_token
from bot.conversations.push import push_resolution


class FakeRasa(BaseHTTPRequestHandler):
    conversation: dict = {}
    triggered: list = []

    def log_message(self, *args):
        pass

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if "token=secret-api-token" not in self.path:
            return self._reply(401, {"message": "unauthorized"})
        self._reply(200, self.conversation)

    def do_POST(self):
        if "token=secret-api-token" not in self.path:
            return self._reply(401, {"message": "unauthorized"})
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeRasa.triggered.append((self.path.split("?")[0], body))
        self._reply(200, {"tracker": {}, "messages": []})


@pytest.fixture()
def rasa(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRasa)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("RASA_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("RASA_API_TOKEN", "secret-api-token")
    monkeypatch.setenv("BOT_TOKEN_SECRET", "push-test-secret-0123456789abcdef0123")
    FakeRasa.triggered = []
    yield FakeRasa
    server.shutdown()


NOTICE = SimpleNamespace(conversation_id="chat-7", reference="ESC-ABC123")


def test_pushes_into_a_channel_that_can_receive_it(rasa):
    rasa.conversation = {"latest_input_channel": "socketio", "active_loop": {}}
    assert push_resolution(NOTICE) is True
    ((path, body),) = rasa.triggered
    assert path == "/conversations/chat-7/trigger_intent" and body["name"] == "EXTERNAL_escalation_resolved"
    assert body["entities"]["escalation_reference"] == "ESC-ABC123"
    assert verify_push_token(body["entities"]["push_token"], "chat-7", "ESC-ABC123")


@pytest.mark.parametrize("conversation", [
    {"latest_input_channel": "rest", "active_loop": {}},  # REST cannot push: shown on the next turn
    {"latest_input_channel": "socketio", "active_loop": {"name": "dispute_form"}},  # never mid-form
])
def test_does_not_push_where_it_cannot_or_should_not(rasa, conversation):
    rasa.conversation = conversation
    assert push_resolution(NOTICE) is False and rasa.triggered == []


def test_a_down_rasa_server_leaves_the_notice_pending(monkeypatch):
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("RASA_API_TOKEN", "secret-api-token")
    assert push_resolution(NOTICE) is False


def test_a_slack_conversation_id_keeps_its_colons_in_the_path(rasa):
    """Sanic does not decode a path segment: "slack%3AT0..." would be another, empty conversation."""
    rasa.conversation = {"latest_input_channel": "slack", "active_loop": {}}
    assert push_resolution(SimpleNamespace(conversation_id="slack:T0LAKESHORE:U0MEICHEN", reference="ESC-1")) is True
    ((path, _body),) = rasa.triggered
    assert path == "/conversations/slack:T0LAKESHORE:U0MEICHEN/trigger_intent"
