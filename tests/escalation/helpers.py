"""Helpers for the escalation tests: the local 21Vianet API's admin side, filing, reading rows, waiting."""
from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

import requests
from sqlalchemy import func, select

from bot.db import session_scope
from bot.escalation import records
from bot.escalation.models import CustomerNotification, Escalation, EscalationEvent

TOKEN = "escalation-test-token-0123456789"
ADMIN_TIMEOUT = 5

# Small enough that the whole directory runs in well under a minute.
FAST_SETTINGS = {
    "VIANET_TIMEOUT_CONNECT": "0.5",
    "VIANET_TIMEOUT_READ": "0.3",
    "ESCALATION_WORKER_INTERVAL": "0.05",
    "ESCALATION_POLL_INTERVAL": "0.01",
    "ESCALATION_BACKOFF_BASE": "0.02",
    "ESCALATION_BACKOFF_CAP": "0.1",
    "ESCALATION_LEASE_SECONDS": "1",
    "ESCALATION_BREAKER_THRESHOLD": "3",
    "ESCALATION_BREAKER_COOLDOWN": "0.3",
    "ESCALATION_MAX_ATTEMPTS": "50",
    "ESCALATION_BATCH_SIZE": "20",
}


@dataclass
class VianetAdmin:
    """The local 21Vianet API seen from 21Vianet's side (its /_admin/ endpoints)."""

    url: str

    def _post(self, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        response = requests.post(f"{self.url}/_admin/{path}", json=payload, timeout=ADMIN_TIMEOUT)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        response = requests.get(f"{self.url}/_admin/stats", timeout=ADMIN_TIMEOUT)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self._post("reset")

    def fault(self, mode: str, **options: Any) -> None:
        self._post("faults", {"mode": mode, **options})

    def clear_faults(self) -> None:
        self._post("faults", {"mode": "none"})

    def set_status(self, service_request_id: str, status: str, note: str | None = None) -> dict[str, Any]:
        payload = {"status": status, **({"note": note} if note else {})}
        return self._post(f"servicerequests/{service_request_id}/status", payload)

    def get(self, service_request_id: str) -> dict[str, Any]:
        response = requests.get(
            f"{self.url}/v1/servicerequests/{service_request_id}",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=ADMIN_TIMEOUT,
        )
        response.raise_for_status()
        return response.json()



TAILSPIN = "C-1004"


def file(customer_id: str = TAILSPIN, summary: str = "Reserved instance purchase we never ordered",
         **overrides: Any) -> records.EscalationView:
    """File an escalation in its own committed transaction, as the conversation would."""
    arguments = {
        "customer_id": customer_id,
        "kind": "dispute",
        "route": "vianet",
        "invoice_number": "G000400001",
        "summary": summary,
        "description": "The customer says nobody ordered the reserved instance on this invoice.",
        "amount": Decimal("4500.00"),
        "currency": "CNY",
        "filed_by": "customer",
        "conversation_id": f"chat-{customer_id}",
    }
    arguments.update(overrides)
    with session_scope() as session:
        return records.file_escalation(session, **arguments)


def row(reference: str) -> Escalation:
    """The escalation row, detached (attributes loaded)."""
    with session_scope() as session:
        found = session.scalars(select(Escalation).where(Escalation.reference == reference)).one()
        session.expunge(found)
        return found


def event_kinds(reference: str) -> list[str]:
    with session_scope() as session:
        return list(
            session.scalars(
                select(EscalationEvent.kind)
                .join(Escalation, Escalation.id == EscalationEvent.escalation_id)
                .where(Escalation.reference == reference)
                .order_by(EscalationEvent.id)
            )
        )


def count_escalations() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Escalation))


def count_notifications(reference: str) -> int:
    with session_scope() as session:
        return session.scalar(
            select(func.count())
            .select_from(CustomerNotification)
            .join(Escalation, Escalation.id == CustomerNotification.escalation_id)
            .where(Escalation.reference == reference)
        )


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, step: Callable[[], Any] | None = None,
              interval: float = 0.05) -> Any:
    """Call `step` (if any) and check `condition` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if step is not None:
            step()
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
