"""Partner Center's subscription resource, as the local stand-in serves it.

Why: suspending a customer's subscription for non-payment (and reactivating it after payment)
is applied to Partner Center by the worker (bot/partner/apply.py). This module plays Partner
Center's side over real HTTP, on the same server as the service-request API:

    GET   /v1/customers/{customer-tenant-id}/subscriptions                   the customer's subscriptions
    GET   /v1/customers/{customer-tenant-id}/subscriptions/{subscription-id}  one, with attributes.etag
    PATCH /v1/customers/{customer-tenant-id}/subscriptions/{subscription-id}  the FULL resource, status
          suspended or active, header If-Match: <etag> (428 without it, 412 when stale)

Every update gives the subscription a new etag. A subscription that is deleted or expired cannot
be suspended or reactivated (409). Counters per subscription (GETs, PATCHes handled, status
changes applied) are in /_admin/stats, so tests can assert that a change reached it exactly once.
The admin side (`/_admin/subscriptions/...`) changes a subscription as someone else would (the
Partner Center portal, Microsoft), which also changes its etag.

The demo subscriptions are the ones in bot/seed.py (DEMO_CUSTOMERS): Fabrikam's is suspended,
the others active.
"""
from __future__ import annotations

import json
import secrets
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping

from bot.seed import DEMO_CUSTOMERS
from devservers.vianet.protocol import ApiError, bad_request, now_text, write_json_atomically

STATUSES = ("active", "suspended", "deleted", "expired")
SETTABLE = ("active", "suspended")  # what a partner's PATCH may ask for
STATE_FILE_VERSION = 1
# The fields a full subscription resource must carry in a PATCH (Partner Center wants the whole
# resource back, not a partial one).
REQUIRED_FIELDS = ("id", "offerId", "quantity", "status", "attributes")

Key = tuple[str, str]  # (customer tenant id, subscription id)


def demo_subscriptions() -> list[tuple[str, str, str, str]]:
    """(tenant id, subscription id, status, friendly name) of the demo customers in bot/seed.py, the
    one list of demo ids: the stand-in never drifts from the billing database's seed."""
    return [(c.tenant_id, c.subscription_upstream_id, c.subscription_status, f"Azure plan ({c.name})")
            for c in DEMO_CUSTOMERS if c.tenant_id and c.subscription_upstream_id]


def _new_etag() -> str:
    return secrets.token_urlsafe(18)


def _resource(tenant_id: str, subscription_id: str, status: str, friendly_name: str) -> dict[str, Any]:
    created = "2026-01-05T08:00:00Z"
    return {
        "id": subscription_id,
        "entitlementId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"entitlement/{subscription_id}")),
        "offerId": "DZH318Z0BPS6:0001",
        "offerName": "Azure plan",
        "friendlyName": friendly_name,
        "quantity": 1,
        "unitType": "none",
        "creationDate": created,
        "effectiveStartDate": created,
        "commitmentEndDate": "9999-12-14T00:00:00Z",
        "status": status,
        "autoRenewEnabled": False,
        "isTrial": False,
        "billingType": "usage",
        "billingCycle": "one_time",
        "contractType": "subscription",
        "orderId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"order/{subscription_id}")).replace("-", "")[:20],
        "links": {"self": {"uri": f"/customers/{tenant_id}/subscriptions/{subscription_id}",
                           "method": "GET", "headers": []}},
        "attributes": {"etag": _new_etag(), "objectType": "Subscription"},
    }


def _field(payload: Mapping[str, Any], name: str) -> Any:
    """A field whatever its casing: Partner Center's examples send PascalCase, its answers camelCase."""
    for key, value in payload.items():
        if isinstance(key, str) and key.lower() == name.lower():
            return value
    return None


def _has_field(payload: Mapping[str, Any], name: str) -> bool:
    return any(isinstance(key, str) and key.lower() == name.lower() for key in payload)


class SubscriptionStore:
    """The subscriptions, their counters, optionally persisted to a JSON file."""

    def __init__(self, state_file: Path | None = None,
                 seed: Callable[[], list[tuple[str, str, str, str]]] = demo_subscriptions) -> None:
        self._lock = threading.RLock()
        self._state_file = state_file
        self._seed = seed
        self._clear()
        if state_file is not None and state_file.exists() and state_file.stat().st_size:
            self._load(state_file)

    def _clear(self) -> None:
        self.subscriptions: dict[Key, dict[str, Any]] = {}
        self.counters: dict[Key, dict[str, int]] = {}
        for tenant_id, subscription_id, status, name in self._seed():
            key = (tenant_id, subscription_id)
            self.subscriptions[key] = _resource(tenant_id, subscription_id, status, name)
            self.counters[key] = {"get_calls": 0, "patch_calls": 0, "status_changes": 0}

    # -- persistence ---------------------------------------------------------------------------

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != STATE_FILE_VERSION:
                raise ValueError(f"unsupported version {data.get('version')!r}")
            subscriptions = {(item["tenant_id"], item["resource"]["id"]): item["resource"]
                             for item in data["subscriptions"]}
            counters = {(item["tenant_id"], item["resource"]["id"]): {k: int(v) for k, v in item["counters"].items()}
                        for item in data["subscriptions"]}
        except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
            raise ValueError(f"state file {path} is unreadable: {exc}") from exc
        self.subscriptions, self.counters = subscriptions, counters

    def _persist(self) -> None:
        if self._state_file is None:
            return
        write_json_atomically(self._state_file, {
            "version": STATE_FILE_VERSION,
            "subscriptions": [{"tenant_id": tenant, "resource": resource, "counters": self.counters[(tenant, sid)]}
                              for (tenant, sid), resource in self.subscriptions.items()],
        })

    # -- the API ---------------------------------------------------------------------------------

    def _find(self, tenant_id: str, subscription_id: str) -> tuple[Key, dict[str, Any]]:
        key = (tenant_id.lower(), subscription_id.lower())
        for (tenant, sid), resource in self.subscriptions.items():
            if (tenant.lower(), sid.lower()) == key:
                return (tenant, sid), resource
        raise ApiError(404, "SubscriptionNotFound", "No subscription with that id for this customer.")

    def list_for(self, tenant_id: str) -> list[dict[str, Any]]:
        with self._lock:
            items = [r for (tenant, _), r in self.subscriptions.items() if tenant.lower() == tenant_id.lower()]
            if not items:
                raise ApiError(404, "CustomerNotFound", "No customer with that tenant id.")
            return json.loads(json.dumps(items))

    def get(self, tenant_id: str, subscription_id: str) -> dict[str, Any]:
        with self._lock:
            key, resource = self._find(tenant_id, subscription_id)
            self.counters[key]["get_calls"] += 1
            self._persist()
            return json.loads(json.dumps(resource))

    def patch(self, tenant_id: str, subscription_id: str, if_match: str | None,
              read_body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Apply the status of a full subscription resource, if `if_match` is its current etag.
        Checked in Partner Center's order: unknown (404), no or stale etag (428, 412), then the body."""
        with self._lock:
            key, resource = self._find(tenant_id, subscription_id)
            self.counters[key]["patch_calls"] += 1
            self._persist()
            if not if_match:
                raise ApiError(428, "PreconditionRequired", "Send If-Match with the subscription's etag.")
            if if_match.strip() != resource["attributes"]["etag"]:
                raise ApiError(412, "PreconditionFailed",
                               "The subscription has changed since it was read; get it again.")
            body = read_body()
            missing = [name for name in REQUIRED_FIELDS if not _has_field(body, name)]
            if missing:
                raise bad_request("InvalidSubscription",
                                  f"Send the full subscription resource; missing: {', '.join(missing)}.")
            if str(_field(body, "id")).lower() != key[1].lower():
                raise bad_request("InvalidSubscription", "The id in the body is not the subscription's id.")
            status = _field(body, "status")
            status = status.strip().lower() if isinstance(status, str) else None
            if status not in STATUSES:
                raise bad_request("InvalidStatus", f"status must be one of: {', '.join(SETTABLE)}.")
            if status != resource["status"]:
                if status not in SETTABLE or resource["status"] not in SETTABLE:
                    raise ApiError(409, "InvalidStatusTransition",
                                   f"A subscription in status '{resource['status']}' cannot move to '{status}'.")
                self._change_status(key, resource, status)
            return json.loads(json.dumps(resource))

    def _change_status(self, key: Key, resource: dict[str, Any], status: str) -> None:
        resource["status"] = status
        resource["attributes"]["etag"] = _new_etag()
        resource["lastModifiedDate"] = now_text()
        self.counters[key]["status_changes"] += 1
        self._persist()

    # -- someone else's side (the portal, Microsoft) -----------------------------------------------

    def set_by_others(self, tenant_id: str, subscription_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Change status and/or friendlyName as another party would; always a new etag."""
        with self._lock:
            key, resource = self._find(tenant_id, subscription_id)
            status = payload.get("status")
            if status is not None:
                if status not in STATUSES:
                    raise bad_request("InvalidStatus", f"status must be one of: {', '.join(STATUSES)}.")
                resource["status"] = status
            name = payload.get("friendlyName")
            if name is not None:
                if not isinstance(name, str) or not name.strip():
                    raise bad_request("InvalidField", "friendlyName must be non-empty text.")
                resource["friendlyName"] = name
            resource["attributes"]["etag"] = _new_etag()
            resource["lastModifiedDate"] = now_text()
            self._persist()
            return json.loads(json.dumps(resource))

    def stats(self) -> dict[str, Any]:
        """Per subscription ("<tenant id>/<subscription id>"): status, etag and counters."""
        with self._lock:
            return {f"{tenant}/{sid}": {"status": r["status"], "etag": r["attributes"]["etag"],
                                        **self.counters[(tenant, sid)]}
                    for (tenant, sid), r in self.subscriptions.items()}

    def reset(self) -> None:
        with self._lock:
            self._clear()
            self._persist()


def handle_api(store: SubscriptionStore, method: str, parts: list[str], if_match: str | None,
               read_body: Callable[[], dict[str, Any]]) -> tuple[int, Any]:
    """`parts` after /v1/customers: [tenant, "subscriptions"(, subscription id)]. (status, JSON body)."""
    if len(parts) < 2 or parts[1] != "subscriptions" or len(parts) > 3:
        raise ApiError(404, "NotFound", "No such endpoint.")
    tenant_id = parts[0]
    if len(parts) == 2:
        if method != "GET":
            raise ApiError(405, "MethodNotAllowed", "Method not allowed on this resource.")
        items = store.list_for(tenant_id)
        return 200, {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}}
    if method == "GET":
        return 200, store.get(tenant_id, parts[2])
    if method == "PATCH":
        return 200, store.patch(tenant_id, parts[2], if_match, read_body)
    raise ApiError(405, "MethodNotAllowed", "Method not allowed on this resource.")


def handle_admin(store: SubscriptionStore, method: str, parts: list[str],
                 read_body: Callable[[], dict[str, Any]]) -> tuple[int, Any]:
    """`parts` after /_admin/subscriptions: [] lists them; [tenant, subscription] POST changes one."""
    if not parts and method == "GET":
        return 200, store.stats()
    if len(parts) == 2 and method == "POST":
        return 200, store.set_by_others(parts[0], parts[1], read_body())
    raise ApiError(404, "NotFound", "No such admin endpoint.")
