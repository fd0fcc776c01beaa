"""The Partner Center subscription client against the local stand-in, over real sockets: what it
sends (full resource, If-Match, MS-RequestId, MS-CorrelationId, Bearer), and every failure mode
turned into its typed error. Also the stand-in's own rules (428, 401, a partial body) and its CLI."""
from __future__ import annotations

import json

import pytest
import requests

from bot.config import ConfigError, load_partner_center_settings
from bot.integrations.partner_center import (
    PartnerCenterAuthError,
    PartnerCenterClient,
    PartnerCenterConflict,
    PartnerCenterNotFound,
    PartnerCenterRejected,
    PartnerCenterThrottled,
    PartnerCenterUnavailable,
)
from devservers.vianet.__main__ import main as devserver_cli
from devservers.vianet.server import start_server, stop_server
from tests.partner.helpers import CONTOSO, FABRIKAM, TOKEN, UPSTREAM, PartnerCenterAdmin


@pytest.fixture(scope="module")
def server_url():
    server, url = start_server(port=0, token=TOKEN)
    yield url
    stop_server(server)


@pytest.fixture
def admin(server_url):
    admin = PartnerCenterAdmin(server_url)
    admin.reset()
    yield admin
    admin.clear_faults()


@pytest.fixture
def sent():
    """The requests the client sent (their headers and bodies), seen through a session hook."""
    return []


@pytest.fixture
def client(admin, sent):
    session = requests.Session()
    session.hooks["response"].append(lambda response, *args, **kwargs: sent.append(response.request))
    with PartnerCenterClient(admin.url, TOKEN, timeout=(0.5, 0.5), session=session) as pc:
        yield pc
    session.close()


def test_get_returns_status_and_etag(client, admin):
    found = client.get_subscription(*UPSTREAM[FABRIKAM])
    assert found.id == UPSTREAM[FABRIKAM][1] and found.status == "suspended"
    assert found.etag == admin.subscription(FABRIKAM)["etag"]
    assert found.raw["offerName"] == "Azure plan"


def test_suspend_sends_the_full_resource_with_if_match(client, admin, sent):
    tenant, subscription_id = UPSTREAM[CONTOSO]
    current = client.get_subscription(tenant, subscription_id)
    updated = client.set_status(tenant, current, "suspended", request_id="req-1")
    assert updated.status == "suspended" and updated.etag != current.etag
    patch = sent[-1]
    assert patch.method == "PATCH" and patch.url.endswith(f"/v1/customers/{tenant}/subscriptions/{subscription_id}")
    assert patch.headers["If-Match"] == current.etag
    assert patch.headers["Authorization"] == f"Bearer {TOKEN}"
    assert patch.headers["MS-RequestId"] == "req-1" and patch.headers["MS-CorrelationId"]
    body = json.loads(patch.body)
    assert body == {**current.raw, "status": "suspended"}  # everything GET gave, with the new status
    stats = admin.subscription(CONTOSO)
    assert (stats["patch_calls"], stats["status_changes"]) == (1, 1)


def test_a_stale_etag_is_a_conflict(client, admin):
    tenant, subscription_id = UPSTREAM[CONTOSO]
    current = client.get_subscription(tenant, subscription_id)
    admin.change_as_portal(CONTOSO, friendlyName="renamed in the portal")
    with pytest.raises(PartnerCenterConflict) as caught:
        client.set_status(tenant, current, "suspended")
    assert caught.value.status == 412 and caught.value.retryable
    assert admin.subscription(CONTOSO)["status"] == "active"


@pytest.mark.parametrize("mode, error, retryable", [
    ("error_500", PartnerCenterUnavailable, True),
    ("error_503", PartnerCenterUnavailable, True),
    ("throttle", PartnerCenterThrottled, True),
    ("drop", PartnerCenterUnavailable, True),
    ("hang", PartnerCenterUnavailable, True),  # the read timeout (0.5 s) ends it
])
def test_faults_become_typed_errors(client, admin, mode, error, retryable):
    admin.fault(mode, count=1, retry_after=7, delay=2)
    with pytest.raises(error) as caught:
        client.get_subscription(*UPSTREAM[CONTOSO])
    assert caught.value.retryable is retryable
    if mode == "throttle":
        assert caught.value.retry_after == 7 and caught.value.status == 429
    assert client.get_subscription(*UPSTREAM[CONTOSO]).status == "active"  # the next call is served


def test_faults_on_service_requests_leave_subscriptions_alone(client, admin):
    requests.post(f"{admin.url}/_admin/faults", json={"mode": "error_500", "api": "servicerequests"}, timeout=5)
    assert client.get_subscription(*UPSTREAM[CONTOSO]).status == "active"


def test_an_answer_lost_after_applying(client, admin):
    tenant, subscription_id = UPSTREAM[CONTOSO]
    current = client.get_subscription(tenant, subscription_id)
    admin.fault("apply_then_500", count=1, method="PATCH")
    with pytest.raises(PartnerCenterUnavailable):
        client.set_status(tenant, current, "suspended")
    assert admin.subscription(CONTOSO)["status"] == "suspended"  # it was applied all the same


def test_rejections_are_permanent(client, admin):
    tenant, _ = UPSTREAM[CONTOSO]
    with pytest.raises(PartnerCenterNotFound) as missing:
        client.get_subscription(tenant, "00000000-0000-4000-8000-000000000000")
    assert not missing.value.retryable and missing.value.status == 404

    admin.change_as_portal(FABRIKAM, status="deleted")
    deleted = client.get_subscription(*UPSTREAM[FABRIKAM])
    with pytest.raises(PartnerCenterRejected) as refused:
        client.set_status(UPSTREAM[FABRIKAM][0], deleted, "active")
    assert refused.value.status == 409 and refused.value.code == "InvalidStatusTransition"

    with PartnerCenterClient(admin.url, "wrong-token", timeout=(0.5, 0.5)) as wrong:
        with pytest.raises(PartnerCenterAuthError):
            wrong.get_subscription(*UPSTREAM[CONTOSO])


def test_connection_refused_is_unavailable():
    with PartnerCenterClient("http://127.0.0.1:9", TOKEN, timeout=(0.5, 0.5)) as pc:
        with pytest.raises(PartnerCenterUnavailable) as caught:
            pc.get_subscription(*UPSTREAM[CONTOSO])
    assert TOKEN not in str(caught.value)


def test_only_suspended_or_active_can_be_asked_for(client):
    current = client.get_subscription(*UPSTREAM[CONTOSO])
    with pytest.raises(ValueError):
        client.set_status(UPSTREAM[CONTOSO][0], current, "deleted")


def test_the_stand_in_wants_if_match_a_token_and_the_full_resource(admin):
    tenant, subscription_id = UPSTREAM[CONTOSO]
    url = f"{admin.url}/v1/customers/{tenant}/subscriptions/{subscription_id}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    resource = requests.get(url, headers=auth, timeout=5).json()
    resource["status"] = "suspended"
    assert requests.patch(url, headers=auth, json=resource, timeout=5).status_code == 428
    assert requests.get(url, timeout=5).status_code == 401
    partial = requests.patch(url, headers={**auth, "If-Match": resource["attributes"]["etag"]},
                             json={"status": "suspended"}, timeout=5)
    assert partial.status_code == 400 and partial.json()["code"] == "InvalidSubscription"
    listed = requests.get(f"{admin.url}/v1/customers/{tenant}/subscriptions", headers=auth, timeout=5).json()
    assert [item["id"] for item in listed["items"]] == [subscription_id]
    assert admin.subscription(CONTOSO)["status_changes"] == 0


def test_cli_lists_subscriptions_and_changes_one(admin, capsys):
    assert devserver_cli(["subscriptions", "--url", admin.url]) == 0
    assert '"status": "suspended"' in capsys.readouterr().out  # Fabrikam
    tenant, subscription_id = UPSTREAM[CONTOSO]
    assert devserver_cli(["subscription", tenant, subscription_id, "suspended", "--url", admin.url]) == 0
    assert admin.subscription(CONTOSO)["status"] == "suspended"


def test_settings(monkeypatch):
    monkeypatch.setenv("PARTNER_CENTER_API_URL", "http://127.0.0.1:8765/")
    monkeypatch.delenv("PARTNER_CENTER_TOKEN", raising=False)
    with pytest.raises(ConfigError):
        load_partner_center_settings()
    monkeypatch.setenv("PARTNER_CENTER_TOKEN", "secret-token-value")
    monkeypatch.setenv("PARTNER_CENTER_LEASE_SECONDS", "90")
    settings = load_partner_center_settings()
    assert settings.base_url == "http://127.0.0.1:8765" and settings.lease_seconds == 90
    assert "secret-token-value" not in repr(settings)
    assert PartnerCenterClient.from_settings(settings) is not None
    monkeypatch.delenv("PARTNER_CENTER_API_URL")
    assert PartnerCenterClient.from_settings(load_partner_center_settings()) is None


def test_the_stand_in_keeps_subscriptions_across_a_restart(tmp_path):
    state = tmp_path / "vianet-state.json"
    server, url = start_server(port=0, token=TOKEN, state_file=state)
    try:
        with PartnerCenterClient(url, TOKEN, timeout=(0.5, 0.5)) as pc:
            tenant, subscription_id = UPSTREAM[CONTOSO]
            suspended = pc.set_status(tenant, pc.get_subscription(tenant, subscription_id), "suspended")
    finally:
        stop_server(server)
    assert (tmp_path / "vianet-state-subscriptions.json").exists()
    server, url = start_server(port=0, token=TOKEN, state_file=state)
    try:
        with PartnerCenterClient(url, TOKEN, timeout=(0.5, 0.5)) as pc:
            again = pc.get_subscription(tenant, subscription_id)
        assert (again.status, again.etag) == ("suspended", suspended.etag)
    finally:
        stop_server(server)
