"""The bundled Assistants-v2-compatible server.

``create_app(settings)`` builds the ASGI app; ``start_server(...)`` runs it in a
background thread for tests, notebooks and the demo.
"""

try:
    from .app import create_app
    from .embedded import RunningServer, start_server
    from .settings import ServerSettings
except ImportError as _missing:  # pragma: no cover - depends on the install
    raise ImportError(
        f"The langchain-assistants server needs its 'server' extra ({_missing}): "
        "pip install 'langchain-assistants[server]'"
    ) from _missing

__all__ = ["RunningServer", "ServerSettings", "create_app", "start_server"]
