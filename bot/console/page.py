"""The console's page: one static HTML page with its script and styles (no CDN, no inline
script), and its sentences from the catalogue's `console` section, served as JSON per language."""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.replies.catalogue import catalogue
from bot.replies.language import LANGUAGES

STATIC = Path(__file__).resolve().parent / "static"
SECTION = "console."
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                               "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache",
}


async def index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={**SECURITY_HEADERS,
                                                            "Content-Type": "text/html; charset=utf-8"})


async def strings(request: web.Request) -> web.Response:
    """GET /api/strings?lang=zh: every sentence of the page (plural entries as {one, other})."""
    chosen = request.query.get("lang")
    language = chosen if chosen in LANGUAGES else "en"
    entries = {key[len(SECTION):]: value for key, value in catalogue(language).items() if key.startswith(SECTION)}
    return web.json_response({"lang": language, "strings": entries})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", index)
    router.add_get("/favicon.ico", lambda _request: _no_content())
    router.add_static("/static/", STATIC)


async def _no_content() -> web.Response:
    return web.Response(status=204)
