"""``langchain-assistants serve``: run the bundled Assistants-v2-compatible server."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path

# Kept in sync with server.settings.CODE_INTERPRETER_MODES (importing it needs the extra).
CODE_INTERPRETER_MODES = ("sandbox", "e2b", "unsafe-local")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
ACCESS_LOG_CHOICES = ("quiet", "full", "off")
#: The event loop of ``--workers`` processes (uvicorn's ``loop`` setting, an import string).
WORKER_LOOP = "langchain_assistants.server.event_loop:new_event_loop"


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _model_list(text: str) -> list[str]:
    """``--allowed-models a,b*``: the comma-separated specs and globs (blanks dropped)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="langchain-assistants",
        description="OpenAI Assistants v2 on any LangChain chat model.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the Assistants-v2-compatible server",
        description="Run the Assistants-v2-compatible server.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks one)")
    serve.add_argument(
        "--db",
        default="langchain-assistants.db",
        metavar="PATH_OR_URL",
        help="SQLite file path, or a SQLAlchemy URL such as postgresql+asyncpg://user@host/db "
        "(default langchain-assistants.db)",
    )
    serve.add_argument(
        "--model",
        default=None,
        metavar="SPEC",
        help="default chat model: an init_chat_model string (openai:gpt-4.1-mini, ollama:qwen3) "
        "or scripted:PATH; checked at start-up; clients may always use it; "
        "env LANGCHAIN_ASSISTANTS_MODEL",
    )
    serve.add_argument(
        "--allowed-models",
        action="extend",
        type=_model_list,
        default=None,
        metavar="SPEC[,SPEC...]",
        help="the model specs clients may name on assistants and runs besides --model: exact "
        "specs and globs ('openai:gpt-4o*,anthropic:*'; 'scripted:*' allows script files "
        "on this machine; '' none); repeatable; others answer 400. Default: any "
        "init_chat_model spec (on the server's provider keys) and bundled scripts "
        "(scripted:demo), never script files or local model paths; "
        "env LANGCHAIN_ASSISTANTS_ALLOWED_MODELS",
    )
    serve.add_argument(
        "--api-key",
        default=None,
        metavar="KEY",
        help="require 'Authorization: Bearer KEY'; its objects are in project 'default' "
        "(env LANGCHAIN_ASSISTANTS_API_KEY)",
    )
    serve.add_argument(
        "--api-keys",
        default=None,
        metavar="FILE",
        help="file of 'KEY PROJECT' lines: each key sees only its project's objects; "
        "re-read on SIGHUP and when it changes (env LANGCHAIN_ASSISTANTS_API_KEYS_FILE)",
    )
    serve.add_argument(
        "--api-keys-reload-seconds",
        type=_positive_float,
        default=10.0,
        metavar="SECONDS",
        help="how often to check the --api-keys file for changes (default 10)",
    )
    serve.add_argument(
        "--max-request-bytes",
        type=_positive_int,
        default=None,
        metavar="BYTES",
        help="largest request body accepted, else 413 (default 33554432 = 32 MiB; "
        "file uploads have their own limit)",
    )
    serve.add_argument(
        "--run-expiry-seconds",
        type=_positive_float,
        default=600.0,
        metavar="SECONDS",
        help="an unfinished run expires this long after it was created (default 600)",
    )
    serve.add_argument(
        "--run-lease-seconds",
        type=_positive_float,
        default=10.0,
        metavar="SECONDS",
        help="a server process holds each run it executes for this long and renews it; "
        "if the process dies, another one on the same database finishes its runs this "
        "late (default 10)",
    )
    serve.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        metavar="N",
        help="server processes sharing the port (default 1); N > 1 needs PostgreSQL, "
        "see README 'Scale-out'",
    )
    serve.add_argument(
        "--worker-healthcheck-seconds",
        type=_positive_int,
        default=30,
        metavar="SECONDS",
        help="with --workers: uvicorn replaces a worker that does not answer its ping for "
        "this long (default 30; uvicorn's own 5 killed workers still importing on a busy "
        "machine)",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=LOG_LEVELS,
        type=str.lower,
        help="log verbosity (default info)",
    )
    serve.add_argument(
        "--access-log",
        choices=ACCESS_LOG_CHOICES,
        default="quiet",
        help="HTTP access log: 'quiet' (default) leaves out successful reads such as the "
        "SDK's run polling, 'full' logs every request, 'off' none",
    )
    serve.add_argument(
        "--embeddings",
        default=None,
        help="embeddings for hybrid retrieval: an init_embeddings string "
        "(openai:text-embedding-3-small, ollama:nomic-embed-text) or fake:DIM (offline, "
        "deterministic); without it retrieval is full-text only",
    )
    serve.add_argument(
        "--ingest-concurrency",
        type=int,
        default=4,
        help="how many files are parsed, chunked and embedded at once (default 4)",
    )
    serve.add_argument(
        "--files-dir",
        default=None,
        metavar="DIR",
        help="directory for file bytes (default: beside the SQLite database, "
        "'<db>-files'); on PostgreSQL it must be shared by every server process",
    )
    serve.add_argument(
        "--file-storage",
        choices=("directory", "database"),
        default=None,
        help="where file bytes live: a directory, or the database's file_blobs table "
        "(default: directory on SQLite, database on PostgreSQL unless --files-dir is given)",
    )
    serve.add_argument(
        "--max-file-bytes",
        type=_positive_int,
        default=512 * 1024 * 1024,
        metavar="BYTES",
        help="largest accepted upload in bytes (default 512 MB; larger answers 413)",
    )
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
        type=_positive_float,
        default=30.0,
        metavar="SECONDS",
        help="wall-clock limit of one code_interpreter execution (default 30)",
    )
    serve.add_argument(
        "--code-memory-mb",
        type=_positive_int,
        default=1024,
        metavar="MIB",
        help="memory limit of one code_interpreter execution in MiB (default 1024)",
    )
    return parser


def _fail(message: str) -> int:
    """End with one line on stderr, no traceback."""
    print(f"langchain-assistants: {' '.join(message.split())}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        import uvicorn

        from .server import ServerSettings, create_app
        from .server.access_log import uvicorn_log_config
        from .server.auth import KeyFileError
        from .server.engine.code_backends import code_backend
        from .server.engine.models import ModelUnavailableError
        from .server.settings import configure_logging
        from .server.store import DatabaseUnavailableError, check_database
    except ImportError as exc:  # pragma: no cover - depends on the install
        hint = "pip install 'langchain-assistants[server]'"
        print(f"The server needs the 'server' extra: {hint} ({exc})", file=sys.stderr)
        return 2
    settings = ServerSettings.from_env(
        db=args.db,
        model=args.model,
        allowed_models=args.allowed_models,
        api_key=args.api_key,
        api_keys_file=args.api_keys,
        api_keys_reload_seconds=args.api_keys_reload_seconds,
        max_request_bytes=args.max_request_bytes,
        run_expiry_seconds=args.run_expiry_seconds,
        run_lease_seconds=args.run_lease_seconds,
        embeddings=args.embeddings,
        ingest_concurrency=args.ingest_concurrency,
        files_dir=Path(args.files_dir) if args.files_dir else None,
        file_storage=args.file_storage,
        max_file_bytes=args.max_file_bytes,
        code_interpreter=args.code_interpreter,
        code_timeout_seconds=args.code_timeout_seconds,
        code_memory_mb=args.code_memory_mb,
    )
    configure_logging(args.log_level)
    if args.workers > 1 and settings.database_url.startswith("sqlite"):
        return _fail(
            f"--workers {args.workers}: SQLite serves one process only; use --workers 1, or "
            "PostgreSQL (--db postgresql://...) to run several server processes"
        )
    try:
        asyncio.run(check_database(settings.database_url))
        app = create_app(settings)
    except DatabaseUnavailableError as exc:
        return _fail(f"--db: {exc}")
    except KeyFileError as exc:
        return _fail(f"--api-keys: {exc}")
    except ModelUnavailableError as exc:
        return _fail(f"--model: {exc}")
    except (ImportError, ValueError) as exc:  # the embeddings spec could not be loaded
        return _fail(f"--embeddings: {exc}")
    model = settings.model or "none (runs need a model spec on the assistant)"
    auth = (
        f"keys file {settings.api_keys_file}"
        if settings.api_keys_file
        else ("required" if settings.api_key else "off")
    )
    url = f"http://{args.host}:{args.port}/v1"
    files = "database" if settings.file_storage_kind == "database" else str(settings.files_root)
    print(
        f"langchain-assistants: {url}  db={args.db}  model={model}  auth={auth}  files={files}",
        file=sys.stderr,
    )
    print(
        f"langchain-assistants: retrieval {app.state.services.retrieval.describe()}",
        file=sys.stderr,
    )
    print(f"code_interpreter: {code_backend(settings).description}", file=sys.stderr)
    print(f"models: {app.state.services.engine.models.policy.describe()}", file=sys.stderr)
    print(f"playground: http://{args.host}:{args.port}/playground", file=sys.stderr)
    # The imported libraries' objects live as long as the process: keep the cyclic garbage
    # collector from walking them again and again (each full pass costs tens of ms of CPU).
    gc.freeze()
    if args.workers > 1:
        # Each worker builds its own app (and engine) from the same settings; uvicorn binds
        # the socket once and the workers share it. They coordinate through the database.
        from .server.settings import (
            SERVE_SETTINGS_ENV,
            WORKER_LOG_LEVEL_ENV,
            settings_to_environment,
        )

        os.environ[SERVE_SETTINGS_ENV] = settings_to_environment(settings)
        os.environ[WORKER_LOG_LEVEL_ENV] = args.log_level
        print(f"workers: {args.workers} processes on one PostgreSQL database", file=sys.stderr)
    uvicorn.run(
        "langchain_assistants.server.app:app_from_environment" if args.workers > 1 else app,
        factory=args.workers > 1,
        workers=args.workers if args.workers > 1 else None,
        timeout_worker_healthcheck=args.worker_healthcheck_seconds,
        # One worker, not all, woken per new connection (see server/event_loop.py).
        loop=WORKER_LOOP if args.workers > 1 else "auto",
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.access_log != "off",
        log_config=uvicorn_log_config(args.access_log),
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
