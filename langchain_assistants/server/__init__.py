"""The bundled Assistants-v2-compatible server.

``create_app(settings)`` builds the ASGI app; ``start_server(...)`` runs it in a
background thread for tests, notebooks and the demo.
"""

from .app import create_app
from .embedded import RunningServer, start_server
from .settings import ServerSettings

__all__ = ["RunningServer", "ServerSettings", "create_app", "start_server"]
