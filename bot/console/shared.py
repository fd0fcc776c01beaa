"""What the console's handlers share through the application (aiohttp app keys)."""
from __future__ import annotations

import asyncio

from aiohttp import web

DATABASE_URL = web.AppKey("database_url", str)
PUSH = web.AppKey("push", object)  # ConversationPush | None: no Rasa API token
DELIVERIES = web.AppKey("deliveries", set)  # deliveries under way, finished before the app stops
CLOSING = web.AppKey("closing", asyncio.Event)  # set on shutdown: live streams end
