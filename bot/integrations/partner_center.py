"""Client for Partner Center's subscription API: read a customer's subscription, suspend it,
reactivate it.

Why: partner staff suspend a customer's subscription for non-payment and reactivate it after
payment; the worker (bot/partner/apply.py) applies those decisions to Partner Center (operated by
21Vianet in China) through this module, the only code that talks to that API.

The documented shape ("Suspend a subscription", "Reactivate a suspended subscription"):

    GET   {base}/v1/customers/{customer-tenant-id}/subscriptions/{subscription-id}
          -> the subscription resource, with attributes.etag
    PATCH the same URL with the FULL resource, status "suspended" or "active",
          headers If-Match: <etag>, MS-RequestId, MS-CorrelationId, Authorization: Bearer <token>

Every call has a (connect, read) timeout, and every failure becomes one exception whose
`retryable` says whether trying again can help (the error classes share 21Vianet's base, since
this is the same Partner Center; `str(exc)` is one line, safe to log):

    PartnerCenterError              base
      PartnerCenterUnavailable      retryable: network, timeout, 5xx, 408, a malformed success body
      PartnerCenterThrottled        retryable: 429, retry_after from Retry-After
      PartnerCenterConflict         412: the etag is stale; read the subscription again, then retry
      PartnerCenterRejected         not retryable: any other 4xx (and a redirect)
        PartnerCenterAuthError      401/403
        PartnerCenterNotFound       404 (unknown customer or subscription)
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, NoReturn
from urllib.parse import quote

import requests

from bot.integrations.vianet import (
    DEFAULT_TIMEOUT,
    VianetError,
    _error_details,
    _normalise_timeout,
    parse_retry_after,
)

if TYPE_CHECKING:
    from bot.config import PartnerCenterSettings

logger = logging.getLogger(__name__)

SUSPENDED = "suspended"
ACTIVE = "active"
TARGET_STATUSES = (SUSPENDED, ACTIVE)


class PartnerCenterError(VianetError):
    """A call to Partner Center's subscription API failed."""


class PartnerCenterUnavailable(PartnerCenterError):
    retryable = True


class PartnerCenterThrottled(PartnerCenterError):
    retryable = True


class PartnerCenterConflict(PartnerCenterError):
    """412 Precondition Failed: someone changed the subscription since we read its etag."""

    retryable = True


class PartnerCenterRejected(PartnerCenterError):
    retryable = False


class PartnerCenterAuthError(PartnerCenterRejected):
    """401/403: PARTNER_CENTER_TOKEN is missing, expired or not allowed."""


class PartnerCenterNotFound(PartnerCenterRejected):
    """404: Partner Center knows no such customer or subscription."""


def _field(payload: Mapping[str, Any], name: str) -> tuple[str | None, Any]:
    """(the key as the payload spells it, its value): Partner Center's JSON is case-insensitive
    (its examples send PascalCase, its answers camelCase)."""
    for key, value in payload.items():
        if isinstance(key, str) and key.lower() == name.lower():
            return key, value
    return None, None


@dataclass(frozen=True)
class PartnerCenterSubscription:
    """A subscription as Partner Center returned it. `raw` is the full resource, what a PATCH sends back."""

    id: str
    status: str
    etag: str
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, payload: Any) -> PartnerCenterSubscription:
        if not isinstance(payload, dict):
            raise ValueError("subscription is not a JSON object")
        _, subscription_id = _field(payload, "id")
        _, status = _field(payload, "status")
        _, attributes = _field(payload, "attributes")
        _, etag = _field(attributes, "etag") if isinstance(attributes, dict) else (None, None)
        if not isinstance(subscription_id, str) or not subscription_id.strip():
            raise ValueError("subscription has no id")
        if not isinstance(status, str) or not status.strip():
            raise ValueError("subscription has no status")
        if not isinstance(etag, str) or not etag.strip():
            raise ValueError("subscription has no attributes.etag")
        return cls(id=subscription_id.strip(), status=status.strip().lower(), etag=etag.strip(), raw=dict(payload))

    def with_status(self, status: str) -> dict[str, Any]:
        """The full resource with `status` replaced, keeping the payload's own spelling of the key."""
        key, _ = _field(self.raw, "status")
        return {**self.raw, (key or "status"): status}


class PartnerCenterClient:
    """Reads, suspends and reactivates customers' subscriptions in Partner Center."""

    def __init__(self, base_url: str, token: str, timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
                 session: requests.Session | None = None) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http(s) URL")
        if not token:
            raise ValueError("token must not be empty")
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = _normalise_timeout(timeout)
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()

    @classmethod
    def from_settings(cls, settings: PartnerCenterSettings,
                      session: requests.Session | None = None) -> PartnerCenterClient | None:
        """A client for the configured Partner Center, or None when none is configured."""
        if not settings.base_url:
            return None
        if not settings.token:
            raise ValueError("PARTNER_CENTER_TOKEN is required when PARTNER_CENTER_API_URL is set")
        return cls(settings.base_url, settings.token, timeout=(settings.timeout_connect, settings.timeout_read),
                   session=session)

    def __repr__(self) -> str:
        return f"PartnerCenterClient(base_url={self._base_url!r}, timeout={self._timeout!r})"

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> PartnerCenterClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- operations ------------------------------------------------------------------------------

    def get_subscription(self, customer_tenant_id: str, subscription_id: str) -> PartnerCenterSubscription:
        payload = self._call("get_subscription", "GET", self._path(customer_tenant_id, subscription_id))
        return self._subscription("get_subscription", payload)

    def set_status(self, customer_tenant_id: str, current: PartnerCenterSubscription, status: str,
                   *, request_id: str | None = None) -> PartnerCenterSubscription:
        """PATCH the full resource `current` (as last read) with `status`, If-Match its etag.
        Raises PartnerCenterConflict when the subscription changed since it was read."""
        if status not in TARGET_STATUSES:
            raise ValueError(f"status must be one of {TARGET_STATUSES}")
        payload = self._call("set_status", "PATCH", self._path(customer_tenant_id, current.id),
                             json_body=current.with_status(status), if_match=current.etag, request_id=request_id)
        return self._subscription("set_status", payload)

    # -- plumbing --------------------------------------------------------------------------------

    @staticmethod
    def _path(customer_tenant_id: str, subscription_id: str) -> str:
        for name, value in (("customer tenant id", customer_tenant_id), ("subscription id", subscription_id)):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string")
        return (f"/v1/customers/{quote(customer_tenant_id.strip(), safe='')}"
                f"/subscriptions/{quote(subscription_id.strip(), safe='')}")

    @staticmethod
    def _subscription(operation: str, payload: Any) -> PartnerCenterSubscription:
        try:
            return PartnerCenterSubscription.from_json(payload)
        except ValueError as exc:
            raise PartnerCenterUnavailable(f"malformed response: {exc}", operation=operation) from exc

    def _call(self, operation: str, method: str, path: str, *, json_body: dict[str, Any] | None = None,
              if_match: str | None = None, request_id: str | None = None) -> Any:
        correlation_id = str(uuid.uuid4())
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/json",
            "MS-CorrelationId": correlation_id,
            "MS-RequestId": request_id or str(uuid.uuid4()),
        }
        if if_match is not None:
            headers["If-Match"] = if_match
        context = {"operation": operation, "correlation_id": correlation_id}
        started = time.monotonic()
        try:
            response = self._session.request(method, self._base_url + path, headers=headers, json=json_body,
                                             timeout=self._timeout, allow_redirects=False)
        except requests.Timeout as exc:
            self._fail(PartnerCenterUnavailable(f"timed out ({type(exc).__name__})", **context), started, exc)
        except requests.RequestException as exc:  # connection refused or dropped, and the rest
            self._fail(PartnerCenterUnavailable(f"connection failed ({type(exc).__name__})", **context), started, exc)
        try:
            status = response.status_code
            if 200 <= status < 300:  # not response.ok: a 3xx is no success either
                try:
                    payload = response.json()
                except ValueError:
                    self._fail(PartnerCenterUnavailable("malformed response: body is not JSON", status=status,
                                                        **context), started)
                logger.debug("Partner Center %s -> %s in %.0f ms (correlation_id=%s)", operation, status,
                             (time.monotonic() - started) * 1000, correlation_id)
                return payload
            self._fail(self._error(response, context), started)
        finally:
            response.close()

    @staticmethod
    def _error(response: requests.Response, context: dict[str, Any]) -> PartnerCenterError:
        status = response.status_code
        code, description = _error_details(response)
        details = {"status": status, "code": code, "description": description,
                   "retry_after": parse_retry_after(response.headers.get("Retry-After")), **context}
        if status == 429:
            return PartnerCenterThrottled("throttled by Partner Center", **details)
        if status == 412:
            return PartnerCenterConflict("the subscription changed since it was read (stale etag)", **details)
        if status in (401, 403):
            return PartnerCenterAuthError("not authorised by Partner Center", **details)
        if status == 404:
            return PartnerCenterNotFound("not found in Partner Center", **details)
        if status == 408 or status >= 500:
            return PartnerCenterUnavailable("Partner Center server error or timeout", **details)
        if 400 <= status < 500:
            return PartnerCenterRejected("rejected by Partner Center", **details)
        # 1xx/3xx: a redirect means a wrong PARTNER_CENTER_API_URL; asking again will not help.
        return PartnerCenterRejected("unexpected HTTP status from Partner Center", **details)

    @staticmethod
    def _fail(error: PartnerCenterError, started: float, cause: BaseException | None = None) -> NoReturn:
        logger.info("Partner Center call failed after %.0f ms: %s", (time.monotonic() - started) * 1000, error)
        raise error from cause
