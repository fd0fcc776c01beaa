"""The 21Vianet client against the local 21Vianet API server, over real HTTP.

Why: escalation fails in many ways (refused, dropped, hung, throttled, 5xx, garbage bodies);
each must surface as the right exception, and retries must never open a second request.
Nothing here is mocked: faults are injected in the server through its admin endpoints.
"""
from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
import requests

from bot.config import ConfigError, load_vianet_settings
from bot.integrations.vianet import (
    ServiceRequest,
    VianetAuthError,
    VianetClient,
    VianetError,
    VianetNotFound,
    VianetRejected,
    VianetThrottled,
    VianetUnavailable,
    parse_retry_after,
)
from devservers.vianet.__main__ import main as devserver_cli
from devservers.vianet.server import start_server, stop_server

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-0123456789"
BILLING_TOPIC = 32444671
CONTACT = {"first_name": "Wei", "last_name": "Zhang", "email": "wei.zhang@example.cn", "phone_number": "+86 10 5555 0100"}
FAST_TIMEOUT = (0.5, 0.5)


@pytest.fixture(scope="module")
def vianet_server():
    server, base_url = start_server(port=0, token=TOKEN)
    yield server, base_url
    stop_server(server)


@pytest.fixture
def base_url(vianet_server):
    _, url = vianet_server
    requests.post(f"{url}/_admin/reset", timeout=2).raise_for_status()
    return url


@pytest.fixture
def client(base_url):
    with VianetClient(base_url, TOKEN, timeout=FAST_TIMEOUT) as vianet:
        yield vianet


def admin(base_url: str, path: str, payload: dict | None = None) -> dict:
    if payload is None and path in ("stats", "faults"):
        response = requests.get(f"{base_url}/_admin/{path}", timeout=2)
    else:
        response = requests.post(f"{base_url}/_admin/{path}", json=payload, timeout=2)
    response.raise_for_status()
    return response.json()


def create(client: VianetClient, request_id: str | None = None, **overrides) -> ServiceRequest:
    arguments = {
        "request_id": request_id or str(uuid.uuid4()),
        "title": "Disputed charge on invoice G012345678",
        "description": "Customer disputes CNY 1,234.00 for Azure Virtual Machines in March.",
        "severity": "moderate",
        "support_topic_id": BILLING_TOPIC,
        "contact": CONTACT,
    }
    arguments.update(overrides)
    return client.create_service_request(**arguments)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- happy paths ------------------------------------------------------------------------------


def test_create_get_and_patch_round_trip(client, base_url):
    created = create(client)
    assert created.id and created.status == "open"
    assert created.title == "Disputed charge on invoice G012345678"
    assert created.severity == "moderate" and created.support_topic_id == BILLING_TOPIC
    assert created.raw["PrimaryContact"]["FirstName"] == "Wei"
    assert created.raw["attributes"] == {"objectType": "ServiceRequest"}
    assert created.last_modified is not None and created.closed_at is None and created.notes == ()

    fetched = client.get_service_request(created.id)
    assert fetched.id == created.id and fetched.raw["SupportTopicName"].startswith("Billing")

    noted = client.add_note(created.id, "Customer sent the usage export.")
    assert [note.text for note in noted.notes] == ["Customer sent the usage export."]
    assert noted.notes[0].created_by == "Wei Zhang" and noted.notes[0].created_at is not None

    closed = client.update_status(created.id, "closed")
    assert closed.is_closed and closed.closed_at is not None
    assert client.update_status(created.id, "open").status == "open"  # partners may reopen


def test_support_topics_include_invoice_dispute(client):
    topics = client.support_topics()
    assert len(topics) >= 3
    assert {topic.id: topic.name for topic in topics}[BILLING_TOPIC] == "Billing – Invoice dispute"


def test_every_call_sends_a_fresh_correlation_id_that_is_echoed(base_url):
    seen = []
    session = requests.Session()
    session.hooks["response"].append(
        lambda response, *args, **kwargs: seen.append(
            (response.request.headers["MS-CorrelationId"], response.headers.get("MS-CorrelationId"))
        )
    )
    with VianetClient(base_url, TOKEN, timeout=FAST_TIMEOUT, session=session) as vianet:
        vianet.support_topics()
        vianet.support_topics()
    assert len(seen) == 2 and seen[0][0] != seen[1][0]
    assert all(sent == echoed for sent, echoed in seen)
    session.close()


def test_admin_close_is_seen_by_the_client_with_its_note(client, base_url):
    created = create(client)
    assert devserver_cli(["close", created.id, "--note", "Credit note CN-778 issued.", "--url", base_url]) == 0
    seen = client.get_service_request(created.id)
    assert seen.status == "closed" and seen.closed_at is not None
    assert seen.notes[-1].text == "Credit note CN-778 issued."
    assert seen.notes[-1].created_by == "21Vianet Support"


def test_support_side_state_machine(client, base_url):
    created = create(client)
    admin(base_url, f"servicerequests/{created.id}/status", {"status": "attention_needed", "note": "Need the PO."})
    assert client.get_service_request(created.id).status == "attention_needed"
    assert client.update_status(created.id, "open").status == "open"  # partner answered
    with pytest.raises(VianetRejected) as excinfo:
        client.update_status(created.id, "attention_needed")  # only support may ask for attention
    assert excinfo.value.status == 409


# --- idempotency ------------------------------------------------------------------------------


def test_repeating_ms_request_id_returns_the_same_request_and_creates_one(client, base_url):
    request_id = str(uuid.uuid4())
    first = create(client, request_id)
    second = create(client, request_id)
    assert second.id == first.id
    stats = admin(base_url, "stats")
    assert (stats["created"], stats["create_calls"], stats["replayed"]) == (1, 2, 1)
    assert len(stats["requests"]) == 1
    assert create(client).id != first.id  # a new escalation gets a new request


def test_retry_after_a_timed_out_create_does_not_duplicate(client, base_url):
    """The server may finish a create the client gave up on; the stable MS-RequestId absorbs the retry."""
    request_id = str(uuid.uuid4())
    admin(base_url, "faults", {"mode": "slow", "delay": 0.8, "count": 1})
    with pytest.raises(VianetUnavailable):
        create(client, request_id)
    time.sleep(0.5)  # let the server finish the create the client abandoned
    retried = create(client, request_id)
    stats = admin(base_url, "stats")
    assert stats["created"] == 1 and stats["replayed"] == 1
    assert stats["requests"][0]["Id"] == retried.id


def test_patch_with_request_id_is_not_applied_twice(client):
    created = create(client)
    client.add_note(created.id, "Only once.", request_id="note-1")
    again = client.add_note(created.id, "Only once.", request_id="note-1")
    assert [note.text for note in again.notes] == ["Only once."]


# --- rejections -------------------------------------------------------------------------------


def test_wrong_token_is_an_auth_error(base_url):
    with VianetClient(base_url, "not-the-token", timeout=FAST_TIMEOUT) as vianet:
        with pytest.raises(VianetAuthError) as excinfo:
            vianet.support_topics()
    error = excinfo.value
    assert error.status == 401 and error.code == "Unauthorized" and not error.retryable
    assert isinstance(error, VianetRejected)
    assert "not-the-token" not in str(error) and TOKEN not in str(error)


def test_missing_bearer_gets_401_with_error_body(base_url):
    response = requests.get(f"{base_url}/v1/servicerequests/supporttopics", timeout=2)
    assert response.status_code == 401
    assert set(response.json()) == {"code", "description"}


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"title": ""}, "MissingField"),
        ({"description": "   "}, "MissingField"),
        ({"severity": "urgent"}, "InvalidSeverity"),
        ({"support_topic_id": 1}, "InvalidSupportTopic"),
        ({"locale": "not a locale"}, "InvalidLocale"),
    ],
)
def test_invalid_create_is_rejected(client, base_url, overrides, code):
    with pytest.raises(VianetRejected) as excinfo:
        create(client, **overrides)
    error = excinfo.value
    assert type(error) is VianetRejected and error.status == 400 and error.code == code
    assert not error.retryable and error.retry_after is None
    assert error.description  # upstream's reason kept for logs...
    text = str(error)
    assert "\n" not in text and "status=400" in text and error.correlation_id in text
    assert "G012345678" not in text and "wei.zhang" not in text  # ...but no request content
    assert admin(base_url, "stats")["created"] == 0


def test_malformed_json_and_bad_patch_status_are_400(client, base_url):
    response = requests.post(
        f"{base_url}/v1/servicerequests/en-US",
        data=b"{not json",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        timeout=2,
    )
    assert response.status_code == 400 and response.json()["code"] == "MalformedJson"

    created = create(client)
    with pytest.raises(VianetRejected) as excinfo:
        client.update_status(created.id, "resolved")
    assert excinfo.value.status == 400 and excinfo.value.code == "InvalidStatus"


def test_unknown_id_is_not_found(client):
    with pytest.raises(VianetNotFound) as excinfo:
        client.get_service_request("999999999999999")
    assert excinfo.value.status == 404 and not excinfo.value.retryable
    with pytest.raises(VianetNotFound):
        client.add_note("999999999999999", "hello")


# --- upstream trouble -------------------------------------------------------------------------


@pytest.mark.parametrize("mode,status", [("error_500", 500), ("error_503", 503)])
def test_server_errors_are_retryable_unavailable(client, base_url, mode, status):
    admin(base_url, "faults", {"mode": mode, "count": 1, "retry_after": 3})
    with pytest.raises(VianetUnavailable) as excinfo:
        create(client)
    assert excinfo.value.status == status and excinfo.value.retryable and excinfo.value.code == status
    assert create(client).status == "open"  # the fault was for one request only


def test_throttling_carries_retry_after(client, base_url):
    admin(base_url, "faults", {"mode": "throttle", "count": 2, "retry_after": 7})
    for _ in range(2):
        with pytest.raises(VianetThrottled) as excinfo:
            client.support_topics()
        assert excinfo.value.retry_after == 7 and excinfo.value.retryable and excinfo.value.status == 429
    assert client.support_topics()


def test_slow_answer_within_the_timeout_succeeds(base_url):
    admin(base_url, "faults", {"mode": "slow", "delay": 0.3})
    with VianetClient(base_url, TOKEN, timeout=(0.5, 1.5)) as vianet:
        started = time.monotonic()
        assert vianet.support_topics()
        assert time.monotonic() - started >= 0.3


def test_hang_times_out_as_unavailable(client, base_url):
    admin(base_url, "faults", {"mode": "hang"})
    started = time.monotonic()
    with pytest.raises(VianetUnavailable) as excinfo:
        client.support_topics()
    assert time.monotonic() - started < 2.0
    assert excinfo.value.retryable and "timed out" in str(excinfo.value)


def test_dropped_connection_is_unavailable(client, base_url):
    admin(base_url, "faults", {"mode": "drop", "count": 1})
    with pytest.raises(VianetUnavailable) as excinfo:
        create(client)
    assert excinfo.value.retryable and excinfo.value.status is None
    assert admin(base_url, "stats")["created"] == 0


def test_connection_refused_is_unavailable():
    with VianetClient(f"http://127.0.0.1:{free_port()}", TOKEN, timeout=FAST_TIMEOUT) as vianet:
        with pytest.raises(VianetUnavailable) as excinfo:
            vianet.get_service_request("1")
    assert excinfo.value.retryable and "connection failed" in str(excinfo.value)


class _CannedHandler(http.server.BaseHTTPRequestHandler):
    """Answers every request with the class's canned status, headers and body."""

    status = 200
    body = b"<html>maintenance</html>"
    headers_out: dict = {"Content-Type": "text/html"}

    def do_GET(self):
        self.send_response(self.status)
        for name, value in self.headers_out.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def canned_upstream():
    servers = []

    def serve(status: int, body: bytes, headers: dict | None = None) -> str:
        handler = type(
            "Handler", (_CannedHandler,), {"status": status, "body": body, "headers_out": headers or {}}
        )
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "status,body",
    [
        (200, b"<html>maintenance</html>"),  # a proxy's page with a success status
        (200, b""),
        (200, b"[1, 2]"),
        (200, b'{"Title": "no id"}'),
        (502, b"<html>Bad Gateway</html>"),
    ],
)
def test_unusable_bodies_are_unavailable(canned_upstream, status, body):
    with VianetClient(canned_upstream(status, body), TOKEN, timeout=FAST_TIMEOUT) as vianet:
        with pytest.raises(VianetUnavailable) as excinfo:
            vianet.get_service_request("42")
    assert excinfo.value.retryable


def test_redirect_is_not_success(canned_upstream):
    url = canned_upstream(302, b"", {"Location": "https://login.example/"})
    with VianetClient(url, TOKEN, timeout=FAST_TIMEOUT) as vianet:
        with pytest.raises(VianetError) as excinfo:
            vianet.get_service_request("42")
    assert excinfo.value.status == 302 and not excinfo.value.retryable


def test_throttle_with_http_date_retry_after(canned_upstream):
    later = datetime.now(timezone.utc) + timedelta(seconds=30)
    url = canned_upstream(429, b"", {"Retry-After": format_datetime(later, usegmt=True)})
    with VianetClient(url, TOKEN, timeout=FAST_TIMEOUT) as vianet:
        with pytest.raises(VianetThrottled) as excinfo:
            vianet.support_topics()
    assert 25 <= excinfo.value.retry_after <= 31


# --- parsing and settings ---------------------------------------------------------------------


def test_parse_retry_after_forms():
    now = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("Fri, 01 Mar 2024 12:00:10 GMT", now=now) == 10.0
    assert parse_retry_after("Fri, 01 Mar 2024 11:00:00 GMT", now=now) == 0.0
    for unusable in (None, "", "soon", "-3", "nan"):
        assert parse_retry_after(unusable) is None


def test_service_request_parsing_is_defensive():
    parsed = ServiceRequest.from_json(
        {
            "Id": 616122292874576,
            "Status": "Attention_Needed",
            "LastModifiedDate": "2024-03-01T08:15:30.1234567Z",
            "LastClosedDate": "0001-01-01T00:00:00",
            "Notes": [{"Text": "hi"}, "junk"],
            "SupportTopicId": "32444671",
        }
    )
    assert parsed.id == "616122292874576" and parsed.status == "attention_needed"
    assert parsed.last_modified == datetime(2024, 3, 1, 8, 15, 30, 123456, tzinfo=timezone.utc)
    assert parsed.closed_at is None and parsed.title == ""
    assert [note.text for note in parsed.notes] == ["hi"] and parsed.support_topic_id == BILLING_TOPIC
    with pytest.raises(ValueError):
        ServiceRequest.from_json({"Title": "x"})


def test_settings_and_from_settings(monkeypatch):
    for name in ("VIANET_API_URL", "VIANET_API_TOKEN", "VIANET_TIMEOUT_CONNECT", "VIANET_TIMEOUT_READ", "VIANET_AGENT_LOCALE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_vianet_settings()
    assert settings.base_url is None and (settings.timeout_connect, settings.timeout_read) == (3.0, 10.0)
    assert settings.agent_locale == "en-US" and VianetClient.from_settings(settings) is None

    monkeypatch.setenv("VIANET_API_URL", "http://127.0.0.1:8765/")
    with pytest.raises(ConfigError):
        load_vianet_settings()  # a URL without a token is a misconfiguration
    monkeypatch.setenv("VIANET_API_TOKEN", "s3cret-token")
    monkeypatch.setenv("VIANET_TIMEOUT_READ", "2.5")
    monkeypatch.setenv("VIANET_AGENT_LOCALE", "zh-CN")
    settings = load_vianet_settings()
    assert "s3cret-token" not in repr(settings)
    client = VianetClient.from_settings(settings)
    assert client is not None and client.base_url == "http://127.0.0.1:8765"
    assert "s3cret-token" not in repr(client)
    client.close()
    monkeypatch.setenv("VIANET_TIMEOUT_CONNECT", "zero")
    with pytest.raises(ConfigError):
        load_vianet_settings()


# --- the server as a process ------------------------------------------------------------------


def test_state_file_survives_a_restart(tmp_path):
    state_file = tmp_path / "vianet-state.json"
    server, url = start_server(port=0, token=TOKEN, state_file=state_file)
    try:
        with VianetClient(url, TOKEN, timeout=FAST_TIMEOUT) as vianet:
            created = create(vianet, "escalation-7")
    finally:
        stop_server(server)
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temp files behind

    server, url = start_server(port=0, token=TOKEN, state_file=state_file)
    try:
        with VianetClient(url, TOKEN, timeout=FAST_TIMEOUT) as vianet:
            assert vianet.get_service_request(created.id).title == created.title
            assert create(vianet, "escalation-7").id == created.id  # seen request ids survive too
        assert requests.get(f"{url}/_admin/stats", timeout=2).json()["created"] == 1
    finally:
        stop_server(server)


def test_module_entry_point_serves(tmp_path):
    with subprocess.Popen(
        [sys.executable, "-m", "devservers.vianet", "--port", "0", "--token", TOKEN, "--log-level", "WARNING"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            line = process.stdout.readline()
            assert "listening on http://" in line
            url = line.strip().rsplit(" ", 1)[-1]
            with VianetClient(url, TOKEN, timeout=(1, 2)) as vianet:
                assert vianet.support_topics()
        finally:
            process.terminate()
            process.wait(timeout=5)
    assert process.returncode == 0  # SIGTERM is a clean stop
