"""``langchain-assistants serve``: run the bundled Assistants-v2-compatible server."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

# Kept in sync with server.settings.CODE_INTERPRETER_MODES (importing it needs the extra).
CODE_INTERPRETER_MODES = ("sandbox", "e2b", "unsafe-local")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="langchain-assistants",
        description="OpenAI Assistants v2 on any LangChain chat model.",
    )
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
    serve.add_argument(
        "--code-interpreter",
        choices=CODE_INTERPRETER_MODES,
        default="sandbox",
        help="where code_interpreter runs model-written code: 'sandbox' (default) a local "
        "kernel sandbox (bubblewrap: own namespaces, read-only runtime, only the thread's "
        "directory writable; runs are refused if it cannot be set up), 'e2b' E2B's remote "
        "sandboxes (needs E2B_API_KEY), 'unsafe-local' a plain child process WITHOUT kernel "
        "isolation (trusted code only)",
    )
    serve.add_argument(
        "--code-timeout-seconds",
        type=float,
        default=30.0,
        help="wall-clock limit of one code_interpreter execution (default 30)",
    )
    serve.add_argument(
        "--code-memory-mb",
        type=int,
        default=1024,
        help="memory limit of one code_interpreter execution in MiB (default 1024)",
    )
    serve.add_argument("--log-level", default="info")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        import uvicorn

        from .server import ServerSettings, create_app
        from .server.engine.code_backends import code_backend
    except ImportError as exc:  # pragma: no cover - depends on the install
        hint = "pip install 'langchain-assistants[server]'"
        print(f"The server needs the 'server' extra: {hint} ({exc})", file=sys.stderr)
        return 2
    settings = ServerSettings.from_env(
        db=args.db,
        model=args.model,
        api_key=args.api_key,
        run_expiry_seconds=args.run_expiry_seconds,
        code_interpreter=args.code_interpreter,
        code_timeout_seconds=args.code_timeout_seconds,
        code_memory_mb=args.code_memory_mb,
    )
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    model = settings.model or "none (runs need a model spec on the assistant)"
    auth = "required" if settings.api_key else "off"
    url = f"http://{args.host}:{args.port}/v1"
    print(f"langchain-assistants: {url}  db={args.db}  model={model}  auth={auth}", file=sys.stderr)
    print(f"code_interpreter: {code_backend(settings).description}", file=sys.stderr)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
