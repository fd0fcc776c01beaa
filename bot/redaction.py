"""Keep secrets and whole message bodies out of logs.

`redact(text)` replaces JWTs (customer, staff and push tokens), bearer tokens, `?token=` query
values and the values of secret environment variables with `[redacted]`. `clip(text)` also cuts
a line longer than BOT_LOG_LINE_MAX. `install()` applies both to every log record this process
creates (a record factory, so it survives Rasa and Sanic replacing the handlers) and to every line
written to stdout and stderr (print, structlog). The launcher applies them again to each line a
child writes, so a path that bypasses both (a C extension writing to fd 2) is still covered.
"""
from __future__ import annotations

import atexit
import logging
import os
import re
import sys
import threading
import traceback
from typing import Any, Callable, Mapping, TextIO

from bot.config import load_log_settings

REDACTED = "[redacted]"
# Header and payload of a JWT are base64url JSON, so they start with "eyJ" ('{"'); a part of
# one (cut by truncation, or header and payload only) is as secret as the whole.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){0,2}")
_BEARER = re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_TOKEN_PARAM = re.compile(r"(?i)([?&;][A-Za-z_]*token=)[^&\s\"'#]+")
_SECRET_NAMES = ("RASA_API_TOKEN", "BOT_TOKEN_SECRET", "VIANET_API_TOKEN", "SLACK_SIGNING_SECRET",
                 "SLACK_BOT_TOKEN", "MICROSOFT_APP_PASSWORD", "TEAMS_APP_PASSWORD")
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY")
_MIN_SECRET_LENGTH = 8  # shorter values ("60" of BOT_TOKEN_TTL_MINUTES) would redact ordinary text
# A log message is cut at BOT_LOG_LINE_MAX; a written line may hold that plus its time, level and
# logger name, so lines are cut this much later (a cut message keeps its own marker).
LINE_PREFIX_ROOM = 200


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of the secret environment variables, longest first (one may contain another)."""
    environ = os.environ if environ is None else environ
    values = {value for name, value in environ.items()
              if (name in _SECRET_NAMES or name.startswith("SLACK_") or _SECRET_NAME.search(name))
              and len(value) >= _MIN_SECRET_LENGTH}
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    """`text` without tokens and secrets; `secrets`: the values to hide (default: this process's)."""
    for value in secret_values() if secrets is None else secrets:
        text = text.replace(value, REDACTED)
    text = _JWT.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    return _TOKEN_PARAM.sub(lambda m: m.group(1) + REDACTED, text)


def truncate(line: str, limit: int) -> str:
    if len(line) <= limit:
        return line
    return f"{line[:limit]}... [truncated {len(line) - limit} characters]"


def clip(text: str, limit: int | None = None, secrets: list[str] | None = None) -> str:
    """Redact, then cut every line of `text` to `limit` characters (BOT_LOG_LINE_MAX)."""
    limit = limit or load_log_settings().line_max
    return "\n".join(truncate(line, limit) for line in redact(text, secrets).split("\n"))


def _scrub_record(record: logging.LogRecord, limit: int, secrets: list[str]) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed call; logging reports it when it formats the record
        return
    # The whole message is one log line's worth, however many lines it spans.
    record.msg, record.args = truncate(redact(message, secrets), limit), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    if record.exc_text:
        record.exc_text = clip(record.exc_text, limit, secrets)
    if record.stack_info:
        record.stack_info = clip(record.stack_info, limit, secrets)


class RedactingStream:
    """A text stream that writes whole lines, redacted and clipped, to the stream it wraps.

    Lines are held until complete so a token written in pieces is still seen whole; a partial
    line goes out on flush() (a prompt), or cut once it is far past the line limit.
    """

    def __init__(self, stream: TextIO, limit: int, secrets: list[str] | None = None) -> None:
        self._stream = stream
        self._limit = limit
        self._secrets = secrets
        self._pending = ""
        self._skipping = False  # the rest of a line already written cut
        self._lock = threading.RLock()

    def write(self, text: str) -> int:
        with self._lock:
            *lines, self._pending = (self._pending + text).split("\n")
            for line in lines:
                if not self._skipping:
                    self._stream.write(clip(line, self._limit, self._secrets) + "\n")
                self._skipping = False
            if len(self._pending) > self._limit * 4:  # an endless line: its beginning, cut, is enough
                if not self._skipping:
                    self._stream.write(clip(self._pending, self._limit, self._secrets) + "\n")
                self._pending, self._skipping = "", True
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending and not self._skipping:
                self._stream.write(clip(self._pending, self._limit, self._secrets))
            self._pending = ""
            self._stream.flush()

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, buffer... of the real stream
        return getattr(self._stream, name)


_installed = False


def install() -> None:
    """Redact every log record and every line on stdout/stderr of this process. Idempotent."""
    global _installed
    if _installed:
        return
    _installed = True
    limit = load_log_settings().line_max
    # Read once: the environment of a running process does not change, and every line passes here.
    secrets = secret_values()
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _scrub_record(record, limit, secrets)
        return record

    logging.setLogRecordFactory(factory)
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, RedactingStream):
            wrapper = RedactingStream(stream, limit + LINE_PREFIX_ROOM, secrets)
            setattr(sys, name, wrapper)
            atexit.register(wrapper.flush)
