"""What every resource of the local 21Vianet API shares: the error answer, timestamps, and
writing state to disk atomically. Imported by the service-request and subscription modules."""
from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def now_text() -> str:
    """The current time as Partner Center writes it: ISO 8601, milliseconds, Z."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class ApiError(Exception):
    """An error answer: HTTP status plus the API's {"code", "description"} body."""

    def __init__(
        self,
        status: int,
        code: str | int,
        description: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.headers = headers or {}


def bad_request(code: str, description: str) -> ApiError:
    return ApiError(400, code, description)


def write_json_atomically(path: Path, data: Any) -> None:
    """A temp file in the same folder, fsynced, then renamed over `path`: never half a file."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
