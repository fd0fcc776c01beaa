"""`python -m bot handoff report`: how the support team is doing, per partner.

First-response time runs from when the queue was staffed (the request, or the next opening) to the
agent's first words. A breach is counted once per late answer; an open conversation past its
target counts as breaching now.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.handoff.models import CANCELLED, CLAIMED, CLOSED, RELEASED, WAITING, Handoff
from bot.handoff.queue import aware, entry_for


@dataclass(frozen=True)
class HandoffReport:
    partner_id: str | None
    waiting: int
    claimed: int
    closed: int
    released: int
    cancelled: int
    first_response_median: float | None  # seconds
    first_response_p90: float | None
    breaches: int  # late answers, recorded
    breaching_now: int  # open conversations past their target
    satisfaction_average: float | None
    satisfaction_answers: int

    def lines(self) -> list[str]:
        def seconds(value: float | None) -> str:
            return "-" if value is None else f"{value:.0f} s"

        return [
            f"partner: {self.partner_id or 'all'}",
            f"waiting: {self.waiting}  claimed: {self.claimed}  closed: {self.closed}  "
            f"handed back: {self.released}  cancelled: {self.cancelled}",
            f"first response: median {seconds(self.first_response_median)}, p90 {seconds(self.first_response_p90)}",
            f"breaches: {self.breaches + self.breaching_now} ({self.breaches} late answers, "
            f"{self.breaching_now} open past target now)",
            "satisfaction: " + (f"{self.satisfaction_average:.2f} / 5 from {self.satisfaction_answers} answers"
                                if self.satisfaction_average is not None else "no answers yet"),
        ]


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(share * 100) * len(ordered) // 100))
    return ordered[min(rank, len(ordered)) - 1]


def handoff_report(session: Session, partner_id: str | None = None, now: datetime | None = None) -> HandoffReport:
    now = aware(now or datetime.now(timezone.utc))
    query = select(Handoff)
    if partner_id:
        query = query.where(Handoff.partner_id == partner_id)
    handoffs = session.scalars(query).all()
    count = {status: sum(1 for h in handoffs if h.status == status)
             for status in (WAITING, CLAIMED, CLOSED, RELEASED, CANCELLED)}
    firsts = [(aware(h.first_response_at) - aware(h.clock_starts_at)).total_seconds()
              for h in handoffs if h.first_response_at is not None]
    firsts = [max(0.0, value) for value in firsts]
    scores = [h.satisfaction for h in handoffs if h.satisfaction is not None]
    breaching_now = sum(1 for h in handoffs if h.status in (WAITING, CLAIMED) and entry_for(session, h, now).breached)
    return HandoffReport(
        partner_id, count[WAITING], count[CLAIMED], count[CLOSED], count[RELEASED], count[CANCELLED],
        statistics.median(firsts) if firsts else None, percentile(firsts, 0.9),
        sum(int(h.first_response_breached) + h.next_response_breaches for h in handoffs), breaching_now,
        statistics.fmean(scores) if scores else None, len(scores))
