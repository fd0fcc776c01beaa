"""A local 21Vianet Partner Center service-request API, for demos and tests.

Run it with `python -m devservers.vianet --port 8765`; in tests use `start_server()` and
`stop_server()`.
"""
from devservers.vianet.server import (
    DEFAULT_TOKEN,
    SUPPORT_TOPICS,
    VianetDevServer,
    start_server,
    stop_server,
)

__all__ = ["DEFAULT_TOKEN", "SUPPORT_TOPICS", "VianetDevServer", "start_server", "stop_server"]
