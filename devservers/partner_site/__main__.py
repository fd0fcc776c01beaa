"""Run the demo partner website: python -m devservers.partner_site [--port 8080]."""
from __future__ import annotations

import argparse
import logging

from aiohttp import web

from bot.config import load_widget_settings
from devservers.partner_site.server import build_app


def main() -> None:
    settings = load_widget_settings()
    parser = argparse.ArgumentParser(prog="python -m devservers.partner_site", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.site_port)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    web.run_app(build_app(settings), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
