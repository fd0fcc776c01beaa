"""A local HTTP server that speaks 21Vianet's Partner Center service-request API.

Why: escalating a disputed charge to 21Vianet cannot be exercised against the real service in
demos or tests. This server speaks the same REST shape (create, get, patch, support topics;
bearer auth; MS-RequestId idempotency; the {"code", "description"} error body), keeps its state
in memory and optionally in a JSON file (so a restart keeps it), and offers unauthenticated
`/_admin/` endpoints that play 21Vianet's side (move a request through its states, add support
notes) and inject faults (5xx, throttling, slowness, hangs, dropped connections), so the client's
failure handling is tested over real sockets. It also serves Partner Center's subscriptions
(suspend, reactivate; devservers/vianet/subscriptions.py), with the same token and faults.

Faults and the admin endpoints are for local use only; bind to 127.0.0.1 (the default).
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import secrets
import socket
import socketserver
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from devservers.vianet import subscriptions
from devservers.vianet.protocol import ApiError, now_text, write_json_atomically
from devservers.vianet.protocol import bad_request as _bad_request
from devservers.vianet.subscriptions import SubscriptionStore

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "local-dev-token"
TOKEN_ENV_VAR = "VIANET_API_TOKEN"

STATUSES = ("none", "open", "attention_needed", "closed")
SEVERITIES = ("minimal", "moderate", "critical")
FAULT_MODES = ("none", "error_500", "error_503", "throttle", "slow", "hang", "drop",
               "apply_then_drop", "apply_then_500")
# The last two serve the request, then lose its answer (the connection drops, or a 500 comes back):
# the case where a change reached the service but the caller cannot know it did.
FAULT_APIS = ("servicerequests", "subscriptions")  # a fault may target one API; default: every API call
FAULT_METHODS = ("GET", "POST", "PATCH")  # ...and one method

# A hang must outlast any sane client timeout, yet never pin a thread (or shutdown) forever.
HANG_CAP_SECONDS = 60.0
MAX_BODY_BYTES = 1_000_000
MAX_TITLE_CHARS = 256
MAX_DESCRIPTION_CHARS = 10_000
MAX_NOTE_CHARS = 10_000
MAX_REQUEST_ID_CHARS = 128
STATE_FILE_VERSION = 1

BILLING_DISPUTE_TOPIC_ID = 32444671
SUPPORT_TOPICS: tuple[dict[str, Any], ...] = (
    {
        "Name": "Billing – Invoice dispute",
        "Description": "Charges on a 21Vianet invoice that the partner believes are wrong.",
        "Id": BILLING_DISPUTE_TOPIC_ID,
    },
    {
        "Name": "Billing – Payment and credit",
        "Description": "Payments, credit limits, refunds and credit notes.",
        "Id": 32444680,
    },
    {
        "Name": "Subscriptions – Provisioning and licences",
        "Description": "Orders, subscription changes, seat counts and licence assignment.",
        "Id": 32444693,
    },
    {
        "Name": "Technical – Microsoft Azure operated by 21Vianet",
        "Description": "Service incidents and technical questions about Azure in China.",
        "Id": 32444702,
    },
)
_TOPICS_BY_ID = {topic["Id"]: topic for topic in SUPPORT_TOPICS}

# 21Vianet support moves a request through these states (driven by /_admin/ here).
_SUPPORT_TRANSITIONS = {
    "none": {"open", "closed"},
    "open": {"attention_needed", "closed"},
    "attention_needed": {"open", "closed"},
    "closed": {"open"},
}
# The partner may answer a request that needs attention, close one, or reopen a closed one.
_PARTNER_TRANSITIONS = {
    "none": {"closed"},
    "open": {"closed"},
    "attention_needed": {"open", "closed"},
    "closed": {"open"},
}

_LOCALE_PATTERN = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}")
_CONTACT_FIELDS = ("FirstName", "LastName", "Email", "PhoneNumber")
_SUPPORT_AUTHOR = "21Vianet Support"
_ORGANIZATION = {
    "Id": "3b33e682-00c3-41ee-9dd2-a548adf56438",
    "Name": "Local Reseller Partner (21Vianet dev server)",
    "PhoneNumber": None,
}


# --------------------------------------------------------------------------------------------
# State


class ServiceRequestStore:
    """Service requests, the request ids already seen, and counters; optionally persisted."""

    def __init__(self, state_file: Path | None = None) -> None:
        self._lock = threading.RLock()
        self._state_file = state_file
        self._clear()
        if state_file is not None and state_file.exists() and state_file.stat().st_size:
            self._load(state_file)

    def _clear(self) -> None:
        self.requests: dict[str, dict[str, Any]] = {}
        self.create_request_ids: dict[str, str] = {}
        self.update_request_ids: dict[str, str] = {}
        self.counters = {"created": 0, "create_calls": 0, "replayed": 0, "calls": 0}

    # -- persistence ---------------------------------------------------------------------------

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != STATE_FILE_VERSION:
                raise ValueError(f"unsupported version {data.get('version')!r}")
            requests = data["requests"]
            create_ids = data["create_request_ids"]
            update_ids = data.get("update_request_ids", {})
            counters = data["counters"]
            if not all(isinstance(x, dict) for x in (requests, create_ids, update_ids, counters)):
                raise ValueError("unexpected shape")
        except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
            # Refuse to start rather than silently overwrite someone's state.
            raise ValueError(f"state file {path} is unreadable: {exc}") from exc
        self.requests = requests
        self.create_request_ids = create_ids
        self.update_request_ids = update_ids
        self.counters.update({k: int(v) for k, v in counters.items() if k in self.counters})
        logger.info("loaded %d service requests from %s", len(self.requests), path)

    def _persist(self) -> None:
        """Write the whole state atomically: a temp file in the same folder, then rename."""
        if self._state_file is None:
            return
        data = {
            "version": STATE_FILE_VERSION,
            "requests": self.requests,
            "create_request_ids": self.create_request_ids,
            "update_request_ids": self.update_request_ids,
            "counters": self.counters,
        }
        write_json_atomically(self._state_file, data)

    # -- counting ------------------------------------------------------------------------------

    def count_call(self, *, is_create: bool) -> None:
        with self._lock:
            self.counters["calls"] += 1
            if is_create:
                self.counters["create_calls"] += 1
            self._persist()

    # -- service requests ----------------------------------------------------------------------

    def _new_id(self) -> str:
        while True:
            candidate = str(10**14 + secrets.randbelow(9 * 10**14))  # 15 digits, like Partner Center
            if candidate not in self.requests:
                return candidate

    def create(self, fields: dict[str, Any], request_id: str | None) -> dict[str, Any]:
        with self._lock:
            if request_id is not None and request_id in self.create_request_ids:
                self.counters["replayed"] += 1
                self._persist()
                return dict(self.requests[self.create_request_ids[request_id]])
            now = now_text()
            topic = _TOPICS_BY_ID[fields["SupportTopicId"]]
            service_request = {
                "Id": self._new_id(),
                "Title": fields["Title"],
                "Description": fields["Description"],
                "Severity": fields["Severity"],
                "SupportTopicId": topic["Id"],
                "SupportTopicName": topic["Name"],
                "Status": "open",
                "Organization": dict(_ORGANIZATION),
                "PrimaryContact": fields["PrimaryContact"],
                "CreatedDate": now,
                "LastModifiedDate": now,
                "LastClosedDate": None,
                "Notes": [],
                "CountryCode": "CN",
                "Locale": fields["Locale"],
                "attributes": {"objectType": "ServiceRequest"},
            }
            self.requests[service_request["Id"]] = service_request
            if request_id is not None:
                self.create_request_ids[request_id] = service_request["Id"]
            self.counters["created"] += 1
            self._persist()
            return dict(service_request)

    def get(self, service_request_id: str) -> dict[str, Any]:
        with self._lock:
            found = self.requests.get(service_request_id)
            if found is None:
                raise ApiError(404, "NotFound", "No service request with that id.")
            return json.loads(json.dumps(found))  # a deep copy, safe to serialise outside the lock

    def list_all(self) -> list[dict[str, Any]]:
        with self._lock:
            return json.loads(json.dumps(list(self.requests.values())))

    def update(
        self,
        service_request_id: str,
        *,
        status: str | None,
        note_text: str | None,
        note_author: str,
        transitions: dict[str, set[str]],
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Apply a status change and/or a note; a repeated MS-RequestId is answered, not reapplied."""
        with self._lock:
            service_request = self.requests.get(service_request_id)
            if service_request is None:
                raise ApiError(404, "NotFound", "No service request with that id.")
            if request_id is not None and self.update_request_ids.get(request_id) == service_request_id:
                return self.get(service_request_id)
            current = service_request.get("Status", "none")
            if status is not None and status != current and status not in transitions.get(current, ()):
                raise ApiError(
                    409,
                    "InvalidStatusTransition",
                    f"A service request in status '{current}' cannot move to '{status}'.",
                )
            now = now_text()
            if status is not None and status != current:
                service_request["Status"] = status
                if status == "closed":
                    service_request["LastClosedDate"] = now
            if note_text is not None:
                service_request["Notes"].append(
                    {"CreatedByName": note_author, "CreatedDate": now, "Text": note_text}
                )
            service_request["LastModifiedDate"] = now
            if request_id is not None:
                self.update_request_ids[request_id] = service_request_id
            self._persist()
            return self.get(service_request_id)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {**self.counters, "requests": self.list_all()}

    def reset(self) -> None:
        with self._lock:
            self._clear()
            self._persist()


@dataclass(frozen=True)
class Fault:
    mode: str
    retry_after: float
    delay: float


class FaultInjector:
    """The fault that upcoming API requests will meet, and how many of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mode = "none"
        self._remaining: int | None = None  # None: until cleared
        self._retry_after = 1.0
        self._delay = 1.0
        self._api: str | None = None  # only calls to this API meet the fault (None: all)
        self._method: str | None = None  # ...with this method (None: all)
        # Set to wake sleeping "slow"/"hang" handlers when faults change or the server stops.
        self._release = threading.Event()

    def configure(self, mode: str, count: int | None, retry_after: float, delay: float,
                  api: str | None = None, method: str | None = None) -> None:
        with self._lock:
            self._mode = mode
            self._remaining = None if mode == "none" else count
            self._retry_after = retry_after
            self._delay = delay
            self._api, self._method = api, method
            self._release.set()
            self._release = threading.Event()

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "mode": self._mode,
                "count": self._remaining,
                "retry_after": self._retry_after,
                "delay": self._delay,
                "api": self._api,
                "method": self._method,
            }

    def take(self, api: str, method: str) -> tuple[Fault | None, threading.Event]:
        """The fault for the request being handled (consuming one from the count), if any."""
        with self._lock:
            release = self._release
            if self._mode == "none" or self._api not in (None, api) or self._method not in (None, method):
                return None, release
            fault = Fault(self._mode, self._retry_after, self._delay)
            if self._remaining is not None:
                self._remaining -= 1
                if self._remaining <= 0:
                    self._mode, self._remaining = "none", None
            return fault, release

    def release_all(self) -> None:
        with self._lock:
            self._release.set()


# --------------------------------------------------------------------------------------------
# Validation


def _required_text(payload: dict[str, Any], field: str, max_chars: int) -> str:
    value = payload.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _bad_request("MissingField", f"{field} is required.")
    if not isinstance(value, str):
        raise _bad_request("InvalidField", f"{field} must be a string.")
    if len(value) > max_chars:
        raise _bad_request("InvalidField", f"{field} must be at most {max_chars} characters.")
    return value


def _validate_create(payload: dict[str, Any], locale: str) -> dict[str, Any]:
    if not _LOCALE_PATTERN.fullmatch(locale):
        raise _bad_request("InvalidLocale", "The agent locale in the path is not a valid locale.")
    title = _required_text(payload, "Title", MAX_TITLE_CHARS)
    description = _required_text(payload, "Description", MAX_DESCRIPTION_CHARS)

    severity = payload.get("Severity")
    if not isinstance(severity, str) or severity.strip().lower() not in SEVERITIES:
        raise _bad_request("InvalidSeverity", f"Severity must be one of: {', '.join(SEVERITIES)}.")

    topic_id = payload.get("SupportTopicId")
    if isinstance(topic_id, str) and topic_id.strip().isdigit():
        topic_id = int(topic_id.strip())
    if isinstance(topic_id, bool) or not isinstance(topic_id, int) or topic_id not in _TOPICS_BY_ID:
        raise _bad_request(
            "InvalidSupportTopic",
            "SupportTopicId must be the Id of a support topic (GET /v1/servicerequests/supporttopics).",
        )

    contact = payload.get("PrimaryContact")
    if not isinstance(contact, dict):
        raise _bad_request("InvalidContact", "PrimaryContact is required and must be an object.")
    normalised_contact: dict[str, str | None] = {}
    for field in _CONTACT_FIELDS:
        value = contact.get(field)
        if value is not None and not isinstance(value, str):
            raise _bad_request("InvalidContact", f"PrimaryContact.{field} must be a string.")
        normalised_contact[field] = value
    email = normalised_contact["Email"]
    if email and "@" not in email:
        raise _bad_request("InvalidContact", "PrimaryContact.Email is not an email address.")

    return {
        "Title": title,
        "Description": description,
        "Severity": severity.strip().lower(),
        "SupportTopicId": topic_id,
        "PrimaryContact": normalised_contact,
        "Locale": locale,
    }


def _validate_status(value: Any, field: str = "Status") -> str:
    if not isinstance(value, str) or value.strip().lower() not in STATUSES:
        raise _bad_request("InvalidStatus", f"{field} must be one of: {', '.join(STATUSES)}.")
    return value.strip().lower()


def _validate_patch(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    status = payload.get("Status")
    new_note = payload.get("NewNote")
    if status is None and new_note is None:
        raise _bad_request("MissingField", "Give NewNote, Status, or both.")
    if status is not None:
        status = _validate_status(status)
    note_text = None
    if new_note is not None:
        if not isinstance(new_note, dict):
            raise _bad_request("InvalidNote", "NewNote must be an object with a Text.")
        note_text = _required_text(new_note, "Text", MAX_NOTE_CHARS)
    return status, note_text


def _number(payload: dict[str, Any], field: str, default: float, cap: float | None = None) -> float:
    value = payload.get(field)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise _bad_request("InvalidField", f"{field} must be a non-negative number.")
    return float(min(value, cap) if cap is not None else value)


# --------------------------------------------------------------------------------------------
# HTTP


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "VianetLocal/1.0"
    sys_version = ""
    timeout = 75  # idle keep-alive connections give their thread back eventually
    server: VianetDevServer

    # -- plumbing --------------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        self._correlation_id = (self.headers.get("MS-CorrelationId") or "").strip() or str(uuid.uuid4())
        self._lose_answer: str | None = None  # set by an apply_then_* fault
        try:
            body = self._read_body()
            parts = [unquote(part) for part in urlsplit(self.path).path.split("/") if part]
            if parts[:1] == ["_admin"]:
                self._handle_admin(method, parts[1:], body)
            elif parts[:2] == ["v1", "servicerequests"]:
                self._handle_api(method, parts[2:], body)
            elif parts[:2] == ["v1", "customers"]:
                self._handle_subscriptions(method, parts[2:], body)
            else:
                raise ApiError(404, "NotFound", "No such endpoint.")
        except ApiError as error:
            self._send_error(error)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a bug here must answer 500, like the real service would
            logger.exception("unhandled error serving %s %s", method, self.path)
            self._send_error(ApiError(500, "InternalServerError", "Unexpected server error."))

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            raise ApiError(411, "LengthRequired", "Send Content-Length; chunked bodies are not accepted.")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise ApiError(400, "InvalidContentLength", "Content-Length is not a number.") from None
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            raise ApiError(413, "PayloadTooLarge", f"Bodies are limited to {MAX_BODY_BYTES} bytes.")
        return self.rfile.read(length) if length else b""

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        lose, self._lose_answer = self._lose_answer, None
        if lose == "apply_then_drop":
            self._drop_connection()
            return
        if lose == "apply_then_500":
            status, headers = 500, None
            payload = {"code": 500, "description": "Injected fault: internal server error after applying the request."}
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("MS-CorrelationId", self._correlation_id)
            request_id = self.headers.get("MS-RequestId")
            if request_id:
                self.send_header("MS-RequestId", request_id)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_error(self, error: ApiError) -> None:
        self._send_json(error.status, {"code": error.code, "description": error.description}, error.headers)

    def _json_object(self, body: bytes) -> dict[str, Any]:
        try:
            payload = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            raise _bad_request("MalformedJson", "The body is not valid UTF-8 JSON.") from None
        if not isinstance(payload, dict):
            raise _bad_request("MalformedJson", "The body must be a JSON object.")
        return payload

    def _drop_connection(self) -> None:
        """Close the socket without answering, as a crashed proxy would."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- the API ---------------------------------------------------------------------------------

    def _handle_api(self, method: str, parts: list[str], body: bytes) -> None:
        is_create = method == "POST" and len(parts) == 1
        self.server.store.count_call(is_create=is_create)
        self._authorise()
        if not self._apply_fault("servicerequests"):
            return

        store = self.server.store
        if method == "GET" and not parts:
            items = store.list_all()
            self._send_json(
                200, {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}}
            )
        elif method == "GET" and parts == ["supporttopics"]:
            self._send_json(
                200,
                {
                    "totalCount": len(SUPPORT_TOPICS),
                    "items": [dict(topic) for topic in SUPPORT_TOPICS],
                    "attributes": {"objectType": "Collection"},
                },
            )
        elif method == "POST" and len(parts) == 1:
            fields = _validate_create(self._json_object(body), parts[0])
            self._send_json(201, store.create(fields, self._request_id()))
        elif method == "GET" and len(parts) == 1:
            self._send_json(200, store.get(parts[0]))
        elif method == "PATCH" and len(parts) == 1:
            store.get(parts[0])  # 404 before complaining about the body
            status, note_text = _validate_patch(self._json_object(body))
            updated = store.update(
                parts[0],
                status=status,
                note_text=note_text,
                note_author=self._partner_author(parts[0]),
                transitions=_PARTNER_TRANSITIONS,
                request_id=self._request_id(),
            )
            self._send_json(200, updated)
        elif len(parts) <= 1:
            raise ApiError(405, "MethodNotAllowed", "Method not allowed on this resource.")
        else:
            raise ApiError(404, "NotFound", "No such endpoint.")

    def _handle_subscriptions(self, method: str, parts: list[str], body: bytes) -> None:
        """Partner Center's subscriptions (devservers/vianet/subscriptions.py), same auth and faults."""
        self._authorise()
        if not self._apply_fault("subscriptions"):
            return
        status, payload = subscriptions.handle_api(
            self.server.subscriptions, method, parts, self.headers.get("If-Match"), lambda: self._json_object(body)
        )
        self._send_json(status, payload)

    def _authorise(self) -> None:
        authorization = self.headers.get("Authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip(), self.server.token):
            raise ApiError(
                401,
                "Unauthorized",
                "A valid bearer token is required.",
                {"WWW-Authenticate": 'Bearer realm="partner.partnercenterapi.microsoftonline.cn"'},
            )

    def _request_id(self) -> str | None:
        value = (self.headers.get("MS-RequestId") or "").strip()
        if not value:
            return None
        if len(value) > MAX_REQUEST_ID_CHARS:
            raise _bad_request("InvalidRequestId", f"MS-RequestId is limited to {MAX_REQUEST_ID_CHARS} characters.")
        return value

    def _partner_author(self, service_request_id: str) -> str:
        contact = self.server.store.get(service_request_id).get("PrimaryContact") or {}
        name = " ".join(part for part in (contact.get("FirstName"), contact.get("LastName")) if part)
        return name or "Partner agent"

    def _apply_fault(self, api: str) -> bool:
        """Play the configured fault. True when the request should then be served normally."""
        fault, release = self.server.faults.take(api, self.command)
        if fault is None:
            return True
        if fault.mode in ("apply_then_drop", "apply_then_500"):
            logger.info("serving %s %s, then losing its answer (%s)", self.command, self.path, fault.mode)
            self._lose_answer = fault.mode
            return True
        logger.info("injecting fault %s into %s %s", fault.mode, self.command, self.path)
        if fault.mode in ("error_500", "error_503"):
            status = 500 if fault.mode == "error_500" else 503
            headers = {"Retry-After": str(math.ceil(fault.retry_after))} if status == 503 else None
            text = "internal server error" if status == 500 else "service unavailable"
            raise ApiError(status, status, f"Injected fault: {text}.", headers)
        if fault.mode == "throttle":
            seconds = math.ceil(fault.retry_after)
            raise ApiError(
                429,
                "TooManyRequests",
                f"Rate limit exceeded; retry after {seconds} seconds.",
                {"Retry-After": str(seconds)},
            )
        if fault.mode == "slow":
            release.wait(min(fault.delay, HANG_CAP_SECONDS))
            return True
        if fault.mode == "hang":
            release.wait(min(fault.delay, HANG_CAP_SECONDS) if fault.delay > 0 else HANG_CAP_SECONDS)
            self._drop_connection()
            return False
        if fault.mode == "drop":
            self._drop_connection()
            return False
        return True

    # -- admin -----------------------------------------------------------------------------------

    def _handle_admin(self, method: str, parts: list[str], body: bytes) -> None:
        store, faults = self.server.store, self.server.faults
        if method == "GET" and parts == ["health"]:
            self._send_json(200, {"status": "ok"})
        elif method == "GET" and parts == ["stats"]:
            self._send_json(200, {**store.stats(), "subscriptions": self.server.subscriptions.stats()})
        elif parts[:1] == ["subscriptions"]:
            self._send_json(*subscriptions.handle_admin(self.server.subscriptions, method, parts[1:],
                                                        lambda: self._json_object(body)))
        elif method == "POST" and parts == ["reset"]:
            store.reset()
            self.server.subscriptions.reset()
            faults.configure("none", None, 1.0, 1.0)
            self._send_json(200, {"status": "reset"})
        elif method == "GET" and parts == ["faults"]:
            self._send_json(200, faults.describe())
        elif method == "POST" and parts == ["faults"]:
            payload = self._json_object(body)
            mode = payload.get("mode")
            if mode not in FAULT_MODES:
                raise _bad_request("InvalidFaultMode", f"mode must be one of: {', '.join(FAULT_MODES)}.")
            count = payload.get("count")
            if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
                raise _bad_request("InvalidField", "count must be a positive integer (omit for until cleared).")
            api, fault_method = payload.get("api"), payload.get("method")
            if api is not None and api not in FAULT_APIS:
                raise _bad_request("InvalidField", f"api must be one of: {', '.join(FAULT_APIS)} (omit for all).")
            if fault_method is not None and fault_method not in FAULT_METHODS:
                raise _bad_request("InvalidField", f"method must be one of: {', '.join(FAULT_METHODS)} (omit for all).")
            faults.configure(
                mode,
                count,
                retry_after=_number(payload, "retry_after", 1.0),
                delay=_number(payload, "delay", 1.0 if mode == "slow" else HANG_CAP_SECONDS, HANG_CAP_SECONDS),
                api=api,
                method=fault_method,
            )
            self._send_json(200, faults.describe())
        elif len(parts) == 3 and parts[0] == "servicerequests" and parts[2] in ("status", "notes"):
            if method != "POST":
                raise ApiError(405, "MethodNotAllowed", "Use POST.")
            payload = self._json_object(body)
            if parts[2] == "status":
                status = _validate_status(payload.get("status"), "status")
                note = payload.get("note")
                if note is not None and (not isinstance(note, str) or not note.strip()):
                    raise _bad_request("InvalidNote", "note must be non-empty text.")
            else:
                status = None
                note = _required_text(payload, "text", MAX_NOTE_CHARS)
            updated = store.update(
                parts[1],
                status=status,
                note_text=note,
                note_author=str(payload.get("author") or _SUPPORT_AUTHOR),
                transitions=_SUPPORT_TRANSITIONS,
            )
            self._send_json(200, updated)
        else:
            raise ApiError(404, "NotFound", "No such admin endpoint.")


class VianetDevServer(ThreadingHTTPServer):
    """The local 21Vianet API: a threading HTTP server holding the store and the fault injector."""

    daemon_threads = True  # a hanging handler must never keep the process alive
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        token: str,
        state_file: Path | None = None,
    ) -> None:
        if not token:
            raise ValueError("token must not be empty")
        self.token = token
        self.store = ServiceRequestStore(state_file)
        # Subscriptions keep their own file beside it (var/vianet-state-subscriptions.json in the demo).
        self.subscriptions = SubscriptionStore(
            state_file.with_name(f"{state_file.stem}-subscriptions{state_file.suffix}") if state_file else None
        )
        self.faults = FaultInjector()
        self.serving_thread: threading.Thread | None = None
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) that can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{host}:{port}"


def default_token() -> str:
    return os.environ.get(TOKEN_ENV_VAR) or DEFAULT_TOKEN


def start_server(
    port: int = 0,
    token: str | None = None,
    *,
    host: str = "127.0.0.1",
    state_file: str | Path | None = None,
) -> tuple[VianetDevServer, str]:
    """Serve on a background daemon thread. port=0 picks a free port; returns (server, base_url)."""
    server = VianetDevServer(
        (host, port),
        token=token or default_token(),
        state_file=Path(state_file) if state_file is not None else None,
    )
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"vianet-dev-server-{server.server_address[1]}",
        daemon=True,
    )
    server.serving_thread = thread
    thread.start()
    logger.info("local 21Vianet API listening on %s", server.base_url)
    return server, server.base_url


def stop_server(server: VianetDevServer, timeout: float = 5.0) -> None:
    """Stop serving, wake any slow/hanging handlers, and close the listening socket."""
    server.faults.release_all()
    thread = server.serving_thread
    if thread is not None and thread.is_alive():
        server.shutdown()  # only valid while serve_forever runs, else it waits forever
        thread.join(timeout)
    server.server_close()
