"""How long to wait before trying 21Vianet again, and when to stop trying for a while.

Retry delays are exponential with full jitter (a random wait between 0 and base * 2^(n-1), capped),
so many escalations failing together do not retry in lockstep. The circuit breaker stops every
call after a run of consecutive retryable failures and lets one trial call through after a
cool-down. It lives in memory: a restarted worker starts with a closed breaker, which costs at most
`threshold` extra calls to a failing upstream, while per-escalation backoff is kept in the database.
"""
from __future__ import annotations

import logging
import math
import random
import time
from typing import Callable

logger = logging.getLogger(__name__)

# A Retry-After beyond this is treated as this: an hour is long enough to stop hammering,
# short enough that a misconfigured header cannot park every escalation for days.
RETRY_AFTER_CEILING = 3600.0


def retry_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1 for the first failure)."""
    exponent = min(max(attempt, 1) - 1, 60)  # 2**60 is already far past any cap
    ceiling = min(cap, base * 2**exponent)
    delay = (rng or random).uniform(0, ceiling)
    if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
        delay = max(delay, min(retry_after, RETRY_AFTER_CEILING))  # never earlier than asked
    return delay


class CircuitBreaker:
    """Closed: calls go through. Open: no calls until the cool-down ends. Then one trial call
    (half-open): success closes it, failure opens it again. A Retry-After pauses all calls."""

    def __init__(self, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._paused_until = 0.0

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half_open" if self._clock() >= self._opened_at + self._cooldown else "open"

    def allows_call(self) -> bool:
        if self._clock() < self._paused_until:
            return False
        return self.state != "open"

    def record_success(self) -> None:
        if self._opened_at is not None:
            logger.info("21Vianet answered again; circuit breaker closed")
        self._failures = 0
        self._opened_at = None

    def record_failure(self, retry_after: float | None = None) -> None:
        """A retryable failure (unreachable, 5xx, throttled)."""
        now = self._clock()
        if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
            self._paused_until = max(self._paused_until, now + min(retry_after, RETRY_AFTER_CEILING))
        self._failures += 1
        if self._opened_at is not None:  # the half-open trial failed
            self._opened_at = now
            logger.warning("21Vianet still failing; circuit breaker open for another %.0f s", self._cooldown)
        elif self._failures >= self._threshold:
            self._opened_at = now
            logger.warning(
                "21Vianet failed %d times in a row; circuit breaker open, no calls for %.0f s",
                self._failures,
                self._cooldown,
            )
