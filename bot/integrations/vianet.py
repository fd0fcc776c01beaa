"""Client for 21Vianet's Partner Center service-request API.

Why: when a customer disputes a charge that our billing data cannot settle, the desk escalates
it to 21Vianet (the operator of Microsoft cloud in China) as a Partner Center service request,
on the customer's behalf. This module is the only code that talks to that API.

Every call has a (connect, read) timeout, and every failure becomes one exception of a small
hierarchy whose `retryable` says whether trying again can help:

    VianetError                 base; status, code, description, retry_after, correlation_id
      VianetUnavailable         retryable: connection refused/dropped, timeout, 5xx, 408,
                                malformed or non-JSON body on a success status
      VianetThrottled           retryable: 429; retry_after from Retry-After (seconds or date)
      VianetRejected            not retryable: any other 4xx
        VianetAuthError         401/403 (token missing, expired or not allowed)
        VianetNotFound          404 (unknown service request id)

`str(exc)` is one line, safe to log (no token, no request body; the upstream description is
sanitised and truncated). None of it is meant for end users: callers word their own replies.

Creates are made idempotent by the caller's MS-RequestId, which must stay the same across
retries of one escalation; every call carries a fresh MS-CorrelationId for tracing.
"""
from __future__ import annotations

import email.utils
import logging
import math
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import quote

import requests

if TYPE_CHECKING:
    from bot.config import VianetSettings

logger = logging.getLogger(__name__)

PARTNER_CENTER_CHINA_URL = "https://partner.partnercenterapi.microsoftonline.cn"
STATUSES = ("none", "open", "attention_needed", "closed")
SEVERITIES = ("minimal", "moderate", "critical")
DEFAULT_TIMEOUT = (3.0, 10.0)
DEFAULT_LOCALE = "en-US"

_MAX_DESCRIPTION_CHARS = 300
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_CONTACT_KEYS = {
    "first_name": "FirstName",
    "last_name": "LastName",
    "email": "Email",
    "phone_number": "PhoneNumber",
    "phone": "PhoneNumber",
}


# --------------------------------------------------------------------------------------------
# Errors


def _log_safe(text: Any, limit: int = _MAX_DESCRIPTION_CHARS) -> str | None:
    """One line, no control characters, bounded: upstream text fit for a log line."""
    if text is None:
        return None
    cleaned = _CONTROL_CHARS.sub(" ", str(text)).strip()
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return cleaned or None


class VianetError(Exception):
    """A call to 21Vianet failed. `retryable` says whether the same call may succeed later."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        status: int | None = None,
        code: str | int | None = None,
        description: str | None = None,
        retry_after: float | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.status = status
        self.code = code
        self.description = _log_safe(description)  # upstream's words: for logs, never for users
        self.retry_after = retry_after
        self.correlation_id = correlation_id

    def __str__(self) -> str:
        details = []
        if self.status is not None:
            details.append(f"status={self.status}")
        if self.code is not None:
            details.append(f"code={_log_safe(self.code, 80)}")
        if self.retry_after is not None:
            details.append(f"retry_after={self.retry_after:g}s")
        if self.correlation_id:
            details.append(f"correlation_id={self.correlation_id}")
        if self.description:
            details.append(f"description={self.description!r}")
        prefix = f"{self.operation}: " if self.operation else ""
        suffix = f" ({', '.join(details)})" if details else ""
        return f"{prefix}{self.message}{suffix}"


class VianetUnavailable(VianetError):
    """21Vianet could not be reached or did not answer sensibly; try again later."""

    retryable = True


class VianetThrottled(VianetError):
    """21Vianet asked us to slow down (429); wait `retry_after` seconds when given."""

    retryable = True


class VianetRejected(VianetError):
    """21Vianet refused the request (4xx); repeating it unchanged will not help."""

    retryable = False


class VianetAuthError(VianetRejected):
    """The token was missing, wrong, expired or lacks permission (401/403): a configuration problem."""


class VianetNotFound(VianetRejected):
    """No service request with that id (404)."""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent or unusable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


# --------------------------------------------------------------------------------------------
# Results


def parse_timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from the API's ISO 8601 text; None for absent, invalid or year-1 sentinels."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # .NET writes up to 7 fractional digits; Python 3.10 accepts 3 or 6.
    text = re.sub(r"\.(\d+)", lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.year <= 1:  # "0001-01-01T00:00:00" means "never" in Partner Center
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


@dataclass(frozen=True)
class ServiceRequestNote:
    created_by: str
    created_at: datetime | None
    text: str


@dataclass(frozen=True)
class ServiceRequest:
    """A service request as 21Vianet reported it. `raw` keeps the full JSON for logs and audits."""

    id: str
    status: str
    title: str
    notes: tuple[ServiceRequestNote, ...]
    last_modified: datetime | None
    closed_at: datetime | None
    raw: dict[str, Any]
    severity: str | None = None
    support_topic_id: int | None = None
    created_at: datetime | None = None

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> ServiceRequest:
        """Parse defensively; only a missing Id makes the payload unusable (ValueError)."""
        if not isinstance(payload, Mapping):
            raise ValueError("service request is not a JSON object")
        request_id = payload.get("Id")
        if isinstance(request_id, bool) or not isinstance(request_id, (str, int)):
            raise ValueError("service request has no Id")
        if not str(request_id).strip():
            raise ValueError("service request has no Id")
        status = payload.get("Status")
        status = status.strip().lower() if isinstance(status, str) and status.strip() else "none"
        notes_raw = payload.get("Notes")
        notes = tuple(
            ServiceRequestNote(
                created_by=_text(note.get("CreatedByName")),
                created_at=parse_timestamp(note.get("CreatedDate")),
                text=_text(note.get("Text")),
            )
            for note in (notes_raw if isinstance(notes_raw, list) else [])
            if isinstance(note, Mapping)
        )
        topic_id = payload.get("SupportTopicId")
        try:
            topic_id = int(topic_id) if topic_id is not None and not isinstance(topic_id, bool) else None
        except (TypeError, ValueError):
            topic_id = None
        severity = payload.get("Severity")
        return cls(
            id=str(request_id).strip(),
            status=status,
            title=_text(payload.get("Title")),
            notes=notes,
            last_modified=parse_timestamp(payload.get("LastModifiedDate")),
            closed_at=parse_timestamp(payload.get("LastClosedDate")),
            raw=dict(payload),
            severity=severity.lower() if isinstance(severity, str) else None,
            support_topic_id=topic_id,
            created_at=parse_timestamp(payload.get("CreatedDate")),
        )


@dataclass(frozen=True)
class SupportTopic:
    id: int
    name: str
    description: str


# --------------------------------------------------------------------------------------------
# Client


def _normalise_timeout(timeout: float | tuple[float, float]) -> tuple[float, float]:
    pair = (timeout, timeout) if isinstance(timeout, (int, float)) else tuple(timeout)
    if len(pair) != 2:
        raise ValueError("timeout must be seconds or a (connect, read) pair")
    connect, read = (float(x) for x in pair)
    if not (connect > 0 and read > 0 and math.isfinite(connect) and math.isfinite(read)):
        raise ValueError("timeouts must be positive, finite seconds")
    return connect, read


def _contact_payload(contact: Mapping[str, Any] | None) -> dict[str, str]:
    """PrimaryContact with Partner Center keys; snake_case keys are accepted, empty values dropped."""
    result: dict[str, str] = {}
    for key, value in (contact or {}).items():
        name = _CONTACT_KEYS.get(key, key)
        if value is not None and str(value).strip():
            result[name] = str(value).strip()
    return result


def _error_details(response: requests.Response) -> tuple[str | int | None, str | None]:
    """(code, description) from an error body, whatever shape (or lack of one) it has."""
    try:
        body = response.json()
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    code, description = body.get("code"), body.get("description")
    nested = body.get("error")
    if isinstance(nested, dict):  # tolerate the {"error": {"code", "message"}} style of gateways
        code = code if code is not None else nested.get("code")
        description = description if description is not None else nested.get("message")
    if isinstance(code, bool) or not isinstance(code, (str, int)):
        code = None if code is None else str(code)
    return code, (description if isinstance(description, str) else None)


class VianetClient:
    """Escalates disputes to 21Vianet as Partner Center service requests."""

    def __init__(
        self,
        base_url: str,
        token: str,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        *,
        agent_locale: str = DEFAULT_LOCALE,
    ) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http(s) URL")
        if not token:
            raise ValueError("token must not be empty")
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = _normalise_timeout(timeout)
        self._agent_locale = agent_locale or DEFAULT_LOCALE
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()

    @classmethod
    def from_settings(
        cls, settings: VianetSettings, session: requests.Session | None = None
    ) -> VianetClient | None:
        """A client for the configured upstream, or None when no upstream is configured."""
        if not settings.base_url:
            return None
        if not settings.token:
            raise ValueError("VIANET_API_TOKEN is required when VIANET_API_URL is set")
        return cls(
            settings.base_url,
            settings.token,
            timeout=(settings.timeout_connect, settings.timeout_read),
            session=session,
            agent_locale=settings.agent_locale,
        )

    def __repr__(self) -> str:
        return f"VianetClient(base_url={self._base_url!r}, timeout={self._timeout!r})"

    @property
    def base_url(self) -> str:
        return self._base_url

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> VianetClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- operations ------------------------------------------------------------------------------

    def create_service_request(
        self,
        request_id: str,
        title: str,
        description: str,
        severity: str,
        support_topic_id: int,
        contact: Mapping[str, Any],
        locale: str | None = None,
    ) -> ServiceRequest:
        """Open a service request. Reuse `request_id` when retrying: 21Vianet then answers with the
        request it already created instead of opening a second one."""
        if not isinstance(request_id, str) or not request_id.strip():
            raise ValueError("request_id (MS-RequestId) must be a non-empty string, stable across retries")
        body = {
            "Title": title,
            "Description": description,
            "Severity": severity,
            "SupportTopicId": support_topic_id,
            "PrimaryContact": _contact_payload(contact),
        }
        path = f"/v1/servicerequests/{quote(locale or self._agent_locale, safe='')}"
        payload = self._call(
            "create_service_request", "POST", path, json_body=body, request_id=request_id.strip()
        )
        return self._service_request("create_service_request", payload)

    def get_service_request(self, service_request_id: str) -> ServiceRequest:
        payload = self._call("get_service_request", "GET", self._request_path(service_request_id))
        return self._service_request("get_service_request", payload)

    def add_note(
        self, service_request_id: str, text: str, *, request_id: str | None = None
    ) -> ServiceRequest:
        return self.update_service_request(service_request_id, note=text, request_id=request_id)

    def update_status(
        self, service_request_id: str, status: str, *, request_id: str | None = None
    ) -> ServiceRequest:
        return self.update_service_request(service_request_id, status=status, request_id=request_id)

    def update_service_request(
        self,
        service_request_id: str,
        *,
        note: str | None = None,
        status: str | None = None,
        request_id: str | None = None,
    ) -> ServiceRequest:
        """PATCH a note and/or a status. A `request_id` (MS-RequestId) lets a retry not add the note twice."""
        if note is None and status is None:
            raise ValueError("give a note, a status, or both")
        body: dict[str, Any] = {}
        if note is not None:
            body["NewNote"] = {"Text": note}
        if status is not None:
            body["Status"] = status
        payload = self._call(
            "update_service_request",
            "PATCH",
            self._request_path(service_request_id),
            json_body=body,
            request_id=request_id,
        )
        return self._service_request("update_service_request", payload)

    def support_topics(self) -> list[SupportTopic]:
        payload = self._call("support_topics", "GET", "/v1/servicerequests/supporttopics")
        items = payload.get("items")
        if not isinstance(items, list):
            raise VianetUnavailable(
                "malformed response: support topics have no items list", operation="support_topics"
            )
        topics = []
        for item in items:
            try:
                topic = SupportTopic(
                    id=int(item["Id"]),
                    name=_text(item.get("Name")),
                    description=_text(item.get("Description")),
                )
            except (KeyError, TypeError, ValueError, AttributeError):
                logger.warning("skipping a malformed 21Vianet support topic")
                continue
            topics.append(topic)
        return topics

    # -- plumbing --------------------------------------------------------------------------------

    @staticmethod
    def _request_path(service_request_id: str) -> str:
        if not isinstance(service_request_id, str) or not service_request_id.strip():
            raise ValueError("service request id must be a non-empty string")
        return f"/v1/servicerequests/{quote(service_request_id.strip(), safe='')}"

    @staticmethod
    def _service_request(operation: str, payload: dict[str, Any]) -> ServiceRequest:
        try:
            return ServiceRequest.from_json(payload)
        except ValueError as exc:
            raise VianetUnavailable(f"malformed response: {exc}", operation=operation) from exc

    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Send one request and return its JSON object, or raise the matching VianetError."""
        correlation_id = str(uuid.uuid4())
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/json",
            "MS-CorrelationId": correlation_id,
        }
        if request_id:
            headers["MS-RequestId"] = request_id
        started = time.monotonic()
        context = {"operation": operation, "correlation_id": correlation_id}
        try:
            response = self._session.request(
                method,
                self._base_url + path,
                headers=headers,
                json=json_body,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            error: VianetError = VianetUnavailable(f"timed out ({type(exc).__name__})", **context)
            self._log_failure(error, started)
            raise error from exc
        except requests.ConnectionError as exc:
            error = VianetUnavailable(f"connection failed ({type(exc).__name__})", **context)
            self._log_failure(error, started)
            raise error from exc
        except requests.RequestException as exc:
            error = VianetUnavailable(f"request failed ({type(exc).__name__})", **context)
            self._log_failure(error, started)
            raise error from exc

        try:
            payload = self._interpret(response, context)
        except VianetError as error:
            self._log_failure(error, started)
            raise
        finally:
            response.close()
        logger.debug(
            "21Vianet %s -> %s in %.0f ms (correlation_id=%s)",
            operation,
            response.status_code,
            (time.monotonic() - started) * 1000,
            correlation_id,
        )
        return payload

    @staticmethod
    def _interpret(response: requests.Response, context: dict[str, Any]) -> dict[str, Any]:
        status = response.status_code
        if 200 <= status < 300:  # not response.ok: a 3xx is no success either
            try:
                payload = response.json()
            except ValueError:
                raise VianetUnavailable(
                    "malformed response: body is not JSON", status=status, **context
                ) from None
            if not isinstance(payload, dict):
                raise VianetUnavailable(
                    "malformed response: body is not a JSON object", status=status, **context
                )
            return payload

        code, description = _error_details(response)
        details = {
            "status": status,
            "code": code,
            "description": description,
            "retry_after": parse_retry_after(response.headers.get("Retry-After")),
            **context,
        }
        if status == 429:
            raise VianetThrottled("throttled by 21Vianet", **details)
        if status in (401, 403):
            raise VianetAuthError("not authorised by 21Vianet", **details)
        if status == 404:
            raise VianetNotFound("not found at 21Vianet", **details)
        if status == 408:
            raise VianetUnavailable("21Vianet timed out the request", **details)
        if 400 <= status < 500:
            raise VianetRejected("rejected by 21Vianet", **details)
        if status >= 500:
            raise VianetUnavailable("21Vianet server error", **details)
        raise VianetError("unexpected HTTP status from 21Vianet", **details)

    @staticmethod
    def _log_failure(error: VianetError, started: float) -> None:
        logger.info("21Vianet call failed after %.0f ms: %s", (time.monotonic() - started) * 1000, error)


def from_settings(
    settings: VianetSettings, session: requests.Session | None = None
) -> VianetClient | None:
    """Module-level spelling of VianetClient.from_settings."""
    return VianetClient.from_settings(settings, session=session)
