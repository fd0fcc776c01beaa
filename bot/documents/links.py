"""Short-lived signed links to a customer's invoice PDF.

A link names the customer and the invoice and expires after BOT_PDF_LINK_SECONDS (5 minutes). It
is minted only for the verified customer of a widget conversation, when a message about that
invoice is sent to them (so links re-sent with the history are fresh), and the invoice is looked
up again, scoped to that customer, when the link is used. A foreign, forged, expired or missing
link gets the same refusal.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt

from bot.config import Settings, load_settings, load_widget_settings
from bot.identity import ISSUER

PDF_AUDIENCE = "invoice-pdf"
PDF_PATH = "/webhooks/widget/invoice.pdf"


def sign_pdf_link(customer_id: str, invoice_number: str, settings: Settings | None = None,
                  seconds: int | None = None) -> str:
    settings = settings or load_settings()
    seconds = seconds if seconds is not None else load_widget_settings().pdf_link_seconds
    now = datetime.now(timezone.utc)
    return jwt.encode({"sub": customer_id, "inv": invoice_number, "aud": PDF_AUDIENCE, "iss": ISSUER, "iat": now,
                       "exp": now + timedelta(seconds=seconds)}, settings.token_secret, algorithm="HS256")


def pdf_link_target(link: object, settings: Settings | None = None) -> tuple[str, str] | None:
    """(customer id, invoice number) of a genuine, unexpired link; None for anything else."""
    if not isinstance(link, str) or len(link) > 1024:
        return None
    settings = settings or load_settings()
    try:
        claims = jwt.decode(link, settings.token_secret, algorithms=["HS256"], audience=PDF_AUDIENCE, issuer=ISSUER,
                            options={"require": ["exp", "sub", "inv", "aud", "iss"]})
    except Exception:  # noqa: BLE001  forged, expired, malformed: all the same refusal
        return None
    customer, number = claims.get("sub"), claims.get("inv")
    return (customer, number) if isinstance(customer, str) and isinstance(number, str) else None
