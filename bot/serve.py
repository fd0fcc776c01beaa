"""Start the Rasa server or the action server with secrets out of the process list and logs.

    python -m bot.serve rasa run --model models/x.tar.gz --enable-api ...
    python -m bot.serve actions --actions actions --port 5055

`ps` shows a process's command line to every user of the machine, so Rasa's API token is never
one of its arguments: it comes from RASA_API_TOKEN in the environment and is added to `sys.argv`
inside the process (its /proc/<pid>/cmdline stays as started). Redaction (bot/redaction.py) is
installed before Rasa is imported, so its loggers and structlog write through it.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Mapping

from bot.config import ConfigError, load_channel_settings
from bot.redaction import install

USAGE = "usage: python -m bot.serve rasa <rasa arguments> | actions <rasa_sdk arguments>"


def rasa_arguments(args: list[str], environ: Mapping[str, str]) -> list[str]:
    """Rasa's CLI arguments, with --auth-token from RASA_API_TOKEN for the commands that serve."""
    if any(arg == "--auth-token" or arg.startswith("--auth-token=") for arg in args):
        raise ValueError("pass Rasa's API token as RASA_API_TOKEN in the environment, not --auth-token")
    token = environ.get("RASA_API_TOKEN")
    serves = args[:1] in (["run"], ["shell"]) and args[1:2] != ["actions"]
    return [*args, "--auth-token", token] if token and serves else list(args)


def _without_echoed_requests(create_app):
    """rasa_sdk answers an unexpected error with the whole request (the tracker) in the body, and
    Rasa then logs that body. Answer with the error's kind only; the details go to our log."""

    def create(*args, **kwargs):
        from sanic import response

        app = create_app(*args, **kwargs)

        @app.exception(Exception)  # registered after rasa_sdk's, so it replaces that one
        async def answer_without_the_request(request, exception: Exception):
            logging.getLogger("bot.serve").error("action server error on %s", request.path, exc_info=exception)
            return response.json({"error": type(exception).__name__}, status=500)

        return app

    return create


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("rasa", "actions"):
        print(USAGE, file=sys.stderr)
        return 2
    install()
    kind, args = argv[0], argv[1:]
    if kind == "actions":
        import rasa_sdk.endpoint
        from rasa_sdk.__main__ import main as serve_actions  # what `rasa run actions` runs

        rasa_sdk.endpoint.create_app = _without_echoed_requests(rasa_sdk.endpoint.create_app)
        sys.argv = ["rasa_sdk", *args]
        serve_actions()
        return 0
    try:
        sys.argv = ["rasa", *rasa_arguments(args, os.environ)]
        # Sanic reads SANIC_* when Rasa creates its app: this caps every request body. Set here,
        # not by the launcher, so it follows the BOT_MAX_REQUEST_BYTES this process sees, and
        # only for Rasa: the trackers the action server receives can be large.
        os.environ["SANIC_REQUEST_MAX_SIZE"] = str(load_channel_settings().max_request_bytes)
    except (ValueError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from rasa.__main__ import main as rasa_main

    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
