"""``langchain-assistants serve``: run the bundled Assistants-v2-compatible server."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

ACCESS_LOG_CHOICES = ("quiet", "full", "off")


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="langchain-assistants",
        description="OpenAI Assistants v2 on any LangChain chat model.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the Assistants-v2-compatible server")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--db",
        default="langchain-assistants.db",
        help="SQLite file path, or a SQLAlchemy URL such as postgresql+asyncpg://user@host/db",
    )
    serve.add_argument(
        "--model",
        default=None,
        help="default chat model: an init_chat_model string (openai:gpt-4.1-mini, ollama:qwen3) "
        "or scripted:PATH; env LANGCHAIN_ASSISTANTS_MODEL",
    )
    serve.add_argument(
        "--api-key",
        default=None,
        help="require 'Authorization: Bearer KEY' (env LANGCHAIN_ASSISTANTS_API_KEY)",
    )
    serve.add_argument("--run-expiry-seconds", type=float, default=600.0)
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--access-log",
        choices=ACCESS_LOG_CHOICES,
        default="quiet",
        help="HTTP access log: 'quiet' (default) leaves out successful reads such as the "
        "SDK's run polling, 'full' logs every request, 'off' none",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        import uvicorn

        from .server import ServerSettings, create_app
        from .server.access_log import uvicorn_log_config
    except ImportError as exc:  # pragma: no cover - depends on the install
        hint = "pip install 'langchain-assistants[server]'"
        print(f"The server needs the 'server' extra: {hint} ({exc})", file=sys.stderr)
        return 2
    settings = ServerSettings.from_env(
        db=args.db,
        model=args.model,
        api_key=args.api_key,
        run_expiry_seconds=args.run_expiry_seconds,
    )
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    model = settings.model or "none (runs need a model spec on the assistant)"
    auth = "required" if settings.api_key else "off"
    url = f"http://{args.host}:{args.port}/v1"
    print(f"langchain-assistants: {url}  db={args.db}  model={model}  auth={auth}", file=sys.stderr)
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.access_log != "off",
        log_config=uvicorn_log_config(args.access_log),
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
