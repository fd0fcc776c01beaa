"""Inserting a row that must be unique, when another process may insert its twin at the same time."""
from __future__ import annotations

from typing import Callable, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

Row = TypeVar("Row")
Winner = TypeVar("Winner")
REFERENCE_ATTEMPTS = 5  # a new random reference if one collides (about 1 in 10^9 per insert)


def insert_or_winner(session: Session, build: Callable[[], Row],
                     winner: Callable[[], Winner | None]) -> tuple[Row | None, Winner | None]:
    """(the inserted row, None), or (None, the row a concurrent insert won with).

    Each try runs in a SAVEPOINT, so a unique-constraint loss rolls back only this insert. After
    a loss, `winner()` looks for the row that won (same dedup key, same invoice...); if there is
    none, it was the random reference that collided, and `build()` draws another.
    """
    for _ in range(REFERENCE_ATTEMPTS):
        row = build()
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            found = winner()
            if found is not None:
                return None, found
            continue
        return row, None
    raise RuntimeError("could not draw a unique reference")
