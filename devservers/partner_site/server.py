"""The demo partner website (aiohttp): sign-in for the seeded customers, the page with the chat
widget, sign-out, an English/Chinese switch.

Signing in makes this backend mint the customer's token (keys.py) and hand it to the widget in the
page. Sessions live in this process's memory (a demo: a restart signs everyone out). The widget
(deep-chat carrying socket.io-client) is served from node_modules, installed by `npm ci`
(scripts/setup.sh): nothing comes from a CDN.
"""
from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from bot.config import WidgetSettings
from devservers.partner_site.keys import ensure_key_pair, mint_customer_token

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "widget" / "node_modules"
VENDOR = {  # URL name -> file in node_modules (pinned by widget/package-lock.json)
    "deep-chat.js": NODE_MODULES / "deep-chat" / "dist" / "deepChat.bundle.js",
    "socket.io.js": NODE_MODULES / "socket.io-client" / "dist" / "socket.io.min.js",
}
SESSION_COOKIE, LANGUAGE_COOKIE = "partner_session", "partner_language"
LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    customer_id: str
    name: str


# The seeded customers (bot/seed.py). Demo credentials, shown on the sign-in page.
ACCOUNTS = (
    DemoAccount("contoso", "contoso-demo", "C-1001", "Contoso Ltd"),
    DemoAccount("fabrikam", "fabrikam-demo", "C-1002", "Fabrikam Inc"),
    DemoAccount("northwind", "northwind-demo", "C-1003", "Northwind Traders"),
    DemoAccount("tailspin", "tailspin-demo", "C-1004", "Tailspin Toys"),
)

# The site's own words (the partner's page, not the assistant's), and the widget's UI strings.
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "site": "Lakeshore Cloud Partners", "sign_in": "Sign in", "sign_out": "Sign out",
        "username": "User name", "password": "Password", "demo": "Demo accounts (any of these):",
        "customer": "Customer", "wrong": "That user name and password don't match a demo account.",
        "chat_title": "Billing help", "signed_in_as": "Signed in as {name}",
        "anonymous": "You are not signed in: the assistant answers general questions only.",
        "to_chat": "Chat without signing in", "language": "中文",
        "placeholder": "Ask about your bill...", "send": "Send", "connecting": "Connecting...",
        "disconnected": "Connection lost. Reconnecting...", "download": "Download the PDF",
        "intro": "Hello! Ask me about your invoices, balance, payments or charges.",
        "agent_label": "{name} · Support", "typing": "{name} is typing…",
    },
    "zh": {
        "site": "湖滨云合作伙伴", "sign_in": "登录", "sign_out": "退出",
        "username": "用户名", "password": "密码", "demo": "演示账户（任选其一）：",
        "customer": "客户", "wrong": "用户名和密码与演示账户不匹配。",
        "chat_title": "账单帮助", "signed_in_as": "已登录：{name}",
        "anonymous": "您尚未登录：助手只回答一般问题。",
        "to_chat": "不登录直接聊天", "language": "English",
        "placeholder": "询问您的账单...", "send": "发送", "connecting": "正在连接...",
        "disconnected": "连接已断开，正在重新连接...", "download": "下载 PDF",
        "intro": "您好！请问有关发票、余额、付款或费用的问题。",
        "agent_label": "{name} · 客服", "typing": "{name} 正在输入…",
    },
}

_templates = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)


def _language(request: web.Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in LANGUAGES else "en"


def _page(name: str, request: web.Request, **values: Any) -> web.Response:
    language = _language(request)
    html = _templates.get_template(name).render(t=TEXT[language], language=language, **values)
    return web.Response(text=html, content_type="text/html", headers=_security_headers(request.app))


def _security_headers(app: web.Application) -> dict[str, str]:
    bot = app["settings"].site_bot_url
    socket = "ws" + bot[len("http"):]
    # No inline script, nothing from elsewhere but the assistant; deep-chat styles its shadow DOM inline.
    return {"Content-Security-Policy": f"default-src 'self'; script-src 'self'; connect-src 'self' {bot} {socket}; "
                                       "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def _account(request: web.Request) -> DemoAccount | None:
    customer_id = request.app["sessions"].get(request.cookies.get(SESSION_COOKIE, ""))
    return next((a for a in ACCOUNTS if a.customer_id == customer_id), None)


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def sign_in_page(request: web.Request) -> web.Response:
    if _account(request):
        raise web.HTTPSeeOther("/chat")
    return _page("signin.html", request, accounts=ACCOUNTS, wrong=False)


async def sign_in(request: web.Request) -> web.Response:
    form = await request.post()
    username, password = str(form.get("username", "")).strip().lower(), str(form.get("password", ""))
    account = next((a for a in ACCOUNTS if a.username == username), None)
    if account is None or not hmac.compare_digest(account.password.encode(), password.encode()):
        response = _page("signin.html", request, accounts=ACCOUNTS, wrong=True)
        response.set_status(401)
        return response
    session_id = secrets.token_urlsafe(32)
    request.app["sessions"][session_id] = account.customer_id
    response = web.HTTPSeeOther("/chat")
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="Lax", path="/")
    raise response


async def sign_out(request: web.Request) -> web.Response:
    request.app["sessions"].pop(request.cookies.get(SESSION_COOKIE, ""), None)
    response = web.HTTPSeeOther("/")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def chat_page(request: web.Request) -> web.Response:
    settings: WidgetSettings = request.app["settings"]
    account = _account(request)
    language = _language(request)
    token = mint_customer_token(request.app["private_key"], settings.site_partner_id, account.customer_id,
                                locale=language) if account else None
    config = {"botUrl": settings.site_bot_url, "token": token, "locale": language, "strings": TEXT[language]}
    # JSON in a non-executed script element; "</" escaped so no value can end the element.
    config_json = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    return _page("chat.html", request, account=account, config_json=config_json)


async def choose_language(request: web.Request) -> web.Response:
    language = request.match_info["language"]
    back = request.query.get("back", "/")
    if urlsplit(back).netloc or not back.startswith("/") or back.startswith("//"):
        back = "/"  # only back to a page of this site
    response = web.HTTPSeeOther(back)
    if language in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, samesite="Lax", path="/")
    raise response


async def vendor(request: web.Request) -> web.StreamResponse:
    path = VENDOR.get(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound()
    if not path.exists():
        return web.Response(status=503, text="The widget is not installed: run scripts/setup.sh (npm ci).")
    return web.FileResponse(path, headers={"Content-Type": "text/javascript; charset=utf-8",
                                           "Cache-Control": "no-cache"})


async def _no_content() -> web.Response:
    return web.Response(status=204)


def build_app(settings: WidgetSettings) -> web.Application:
    app = web.Application()
    app["settings"] = settings
    app["sessions"] = {}
    app["private_key"] = ensure_key_pair(settings.site_key_file, settings.partner_keys_dir, settings.site_partner_id)
    app.router.add_get("/health", health)
    app.router.add_get("/favicon.ico", lambda _request: _no_content())
    app.router.add_get("/", sign_in_page)
    app.router.add_post("/signin", sign_in)
    app.router.add_post("/signout", sign_out)
    app.router.add_get("/chat", chat_page)
    app.router.add_get("/language/{language}", choose_language)
    app.router.add_get("/vendor/{name}", vendor)
    app.router.add_static("/static/", HERE / "static")
    return app
