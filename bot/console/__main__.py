"""Run the agent console: python -m bot.console [--port 8090] (BOT_CONSOLE_PORT)."""
from __future__ import annotations

import argparse
import logging

from aiohttp import web

from bot.config import load_handoff_settings, load_settings
from bot.console.app import build_app
from bot.conversations.push import ConversationPush


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.console", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=load_handoff_settings().console_port)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    push = ConversationPush.from_settings()
    if push is None:
        logging.getLogger(__name__).warning("no RASA_API_TOKEN: agents' messages cannot reach customers, "
                                            "and transcripts cannot be read")
    web.run_app(build_app(load_settings().database_url, push), host=args.host, port=args.port, print=None,
                shutdown_timeout=5)


if __name__ == "__main__":
    main()
