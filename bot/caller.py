"""Who is asking: a customer, partner staff, or anonymous, verified once at the channel.

The channel verifies the token a client sends (`customer_token` or `partner_token` in the
message metadata) and passes on only the verified identity, as `metadata["caller"]`. Tokens
therefore never reach the tracker store, the action server or a log; actions read the caller
from the metadata the channel wrote, which a client cannot write: the channel builds the
metadata itself and drops whatever the client sent under that key.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bot.config import Settings
from bot.identity import (
    CUSTOMER_AUDIENCE,
    STAFF_AUDIENCE,
    TokenError,
    customer_of_expired_token,
    verify_staff_token,
    verify_token,
)

CUSTOMER_TOKEN_KEY = "customer_token"
STAFF_TOKEN_KEY = "partner_token"
CALLER_KEY = "caller"

CUSTOMER, STAFF, ANONYMOUS = "customer", "staff", "anonymous"
BILLING_ADMIN, READ_ONLY = "billing_admin", "read_only"
# Why an anonymous caller is anonymous, besides a token's problem: a verified Slack or Teams user
# who is not in the partner's staff directory.
NOT_IN_DIRECTORY = "not_in_directory"


@dataclass(frozen=True)
class Caller:
    kind: str  # customer | staff | anonymous
    customer_id: str | None = None
    partner_id: str | None = None
    staff_name: str | None = None
    # Why an anonymous caller is anonymous: "missing" (no token), "expired" or "invalid".
    token_problem: str | None = None
    # The customer an expired customer token was issued to. Never grants access: it only tells
    # whether news in a conversation is for the person reading it.
    expired_customer_id: str | None = None
    # Staff: what they may do (billing_admin | read_only) and, from Slack or Teams, the platform
    # identity the channel verified ("slack:T0LAKESHORE:U0MEICHEN").
    role: str | None = None
    staff_id: str | None = None

    @property
    def is_customer(self) -> bool:
        return self.kind == CUSTOMER and bool(self.customer_id)

    @property
    def is_staff(self) -> bool:
        return self.kind == STAFF and bool(self.partner_id) and bool(self.staff_name)

    @property
    def principal(self) -> str | None:
        """Who a conversation is bound to: one string per person, None for anonymous."""
        if self.is_customer:
            return f"{CUSTOMER_AUDIENCE}:{self.customer_id}"
        if self.is_staff:
            return f"{STAFF_AUDIENCE}:{self.partner_id}:{self.staff_id or self.staff_name}"
        return None

    @property
    def may_change(self) -> bool:
        """Staff who may change things (suspend, reactivate, escalate); read-only staff look only."""
        return self.is_staff and self.role == BILLING_ADMIN

    @property
    def claimant(self) -> tuple[str | None, bool]:
        """(who speaks in a conversation, whether that binds it). A customer whose sign-in expired
        still owns their conversation (they are told to sign in again), but binds nothing."""
        if self.principal:
            return self.principal, True
        if self.expired_customer_id:
            return f"{CUSTOMER_AUDIENCE}:{self.expired_customer_id}", False
        return None, False

    def to_metadata(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_metadata(cls, metadata: object) -> "Caller":
        """The caller the channel recorded in a message's metadata; anonymous when there is none."""
        raw = metadata.get(CALLER_KEY) if isinstance(metadata, dict) else None
        if not isinstance(raw, dict):
            return ANONYMOUS_CALLER
        fields = {key: raw.get(key) for key in cls.__dataclass_fields__}
        if not all(value is None or isinstance(value, str) for value in fields.values()):
            return ANONYMOUS_CALLER
        if fields["kind"] not in (CUSTOMER, STAFF, ANONYMOUS):
            return ANONYMOUS_CALLER
        return cls(**fields)


ANONYMOUS_CALLER = Caller(ANONYMOUS, token_problem="missing")


def resolve_caller(metadata: dict[str, Any], settings: Settings) -> Caller:
    """Verify the token a client sent with a message. A customer token wins over a staff token."""
    customer_token = metadata.get(CUSTOMER_TOKEN_KEY)
    if customer_token:
        try:
            return Caller(CUSTOMER, customer_id=verify_token(customer_token, settings))
        except TokenError as exc:
            expired_of = None
            if exc.reason == "expired":
                try:
                    expired_of = customer_of_expired_token(customer_token, settings)
                except TokenError:
                    expired_of = None
            return Caller(ANONYMOUS, token_problem=exc.reason, expired_customer_id=expired_of)
    staff_token = metadata.get(STAFF_TOKEN_KEY)
    if staff_token:
        try:
            staff = verify_staff_token(staff_token, settings)
        except TokenError as exc:
            return Caller(ANONYMOUS, token_problem=exc.reason)
        return Caller(STAFF, partner_id=staff.partner_id, staff_name=staff.name, role=staff.role)
    return ANONYMOUS_CALLER


def resolve_platform_caller(platform: str, workspace: str, user_id: str, database_url: str) -> Caller:
    """The caller behind a Slack or Teams identity the channel has verified: the staff member the
    partner's directory lists, or anonymous (told to ask their partner admin for access)."""
    from bot.db import session_scope
    from bot.partner.directory import look_up

    with session_scope(database_url) as session:
        entry = look_up(session, platform, workspace, user_id)
    if entry is None:
        return Caller(ANONYMOUS, token_problem=NOT_IN_DIRECTORY)
    return Caller(STAFF, partner_id=entry.partner_id, staff_name=entry.name, role=entry.role,
                  staff_id=entry.staff_id)
