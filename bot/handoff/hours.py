"""A partner's staffed hours, in its own time zone: "Mon-Fri 09:00-18:00; Sat 10:00-14:00", or "always".

Outside them a request for a person is kept, and the customer is told when someone will answer;
the response-time clock starts then, not at the request.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import ConfigError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^\s*(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+"
                   r"(?P<open>\d{1,2}:\d{2})\s*-\s*(?P<close>\d{1,2}:\d{2})\s*$", re.IGNORECASE)


def _minutes(clock: str) -> int:
    hours, minutes = (int(part) for part in clock.split(":"))
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or hours * 60 + minutes > 24 * 60:
        raise ValueError(clock)
    return hours * 60 + minutes


@dataclass(frozen=True)
class StaffedHours:
    """Per weekday (0 = Monday), the staffed spans in minutes after midnight. None: always staffed."""

    spans: tuple[tuple[tuple[int, int], ...], ...] | None
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str, timezone: str) -> "StaffedHours":
        try:
            zone = ZoneInfo(timezone)
        except Exception as exc:  # noqa: BLE001  ZoneInfoNotFoundError, ValueError
            raise ConfigError(f"unknown time zone {timezone!r}") from exc
        text = (text or "").strip()
        if text.lower() in ("", "always", "24/7"):
            return cls(None, zone)
        days: list[list[tuple[int, int]]] = [[] for _ in DAYS]
        for part in re.split(r"[;,]", text):
            match = _SPAN.match(part)
            if not match or match["first"].lower() not in DAYS or (match["last"] and match["last"].lower() not in DAYS):
                raise ConfigError(f"staffed hours must look like 'Mon-Fri 09:00-18:00', got {part.strip()!r}")
            try:
                opens, closes = _minutes(match["open"]), _minutes(match["close"])
            except ValueError as exc:
                raise ConfigError(f"not a time of day in {part.strip()!r}") from exc
            if closes <= opens:
                raise ConfigError(f"closing must come after opening in {part.strip()!r}")
            first = DAYS.index(match["first"].lower())
            last = DAYS.index((match["last"] or match["first"]).lower())
            day = first
            while True:
                days[day].append((opens, closes))
                if day == last:
                    break
                day = (day + 1) % 7
        if not any(days):
            raise ConfigError("staffed hours name no day")
        return cls(tuple(tuple(sorted(spans)) for spans in days), zone)

    @property
    def always(self) -> bool:
        return self.spans is None

    def is_staffed(self, at: datetime) -> bool:
        """`at` is timezone-aware."""
        if self.spans is None:
            return True
        local = at.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(opens <= minute < closes for opens, closes in self.spans[local.weekday()])

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself when staffed; otherwise the next moment someone is there (aware, in the partner's zone)."""
        if self.is_staffed(at):
            return at
        local = at.astimezone(self.zone)
        for days_ahead in range(8):
            day = (local + timedelta(days=days_ahead)).date()
            for opens, _closes in self.spans[day.weekday()]:
                candidate = datetime.combine(day, time(opens // 60, opens % 60), tzinfo=self.zone)
                if candidate > local:
                    return candidate
        raise ConfigError("staffed hours never open")  # unreachable: parse() requires a day
