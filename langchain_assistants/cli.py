"""``langchain-assistants serve``: run the bundled Assistants-v2-compatible server."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path


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
    serve.add_argument("--run-expiry-seconds", type=float, default=600.0)
    serve.add_argument(
        "--files-dir",
        default=None,
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
        type=int,
        default=512 * 1024 * 1024,
        help="largest accepted upload in bytes (default 512 MB; larger answers 413)",
    )
    serve.add_argument("--log-level", default="info")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        import uvicorn

        from .server import ServerSettings, create_app
    except ImportError as exc:  # pragma: no cover - depends on the install
        hint = "pip install 'langchain-assistants[server]'"
        print(f"The server needs the 'server' extra: {hint} ({exc})", file=sys.stderr)
        return 2
    settings = ServerSettings.from_env(
        db=args.db,
        model=args.model,
        api_key=args.api_key,
        run_expiry_seconds=args.run_expiry_seconds,
        embeddings=args.embeddings,
        ingest_concurrency=args.ingest_concurrency,
        files_dir=Path(args.files_dir) if args.files_dir else None,
        file_storage=args.file_storage,
        max_file_bytes=args.max_file_bytes,
    )
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    model = settings.model or "none (runs need a model spec on the assistant)"
    auth = "required" if settings.api_key else "off"
    url = f"http://{args.host}:{args.port}/v1"
    files = "database" if settings.file_storage_kind == "database" else str(settings.files_root)
    print(
        f"langchain-assistants: {url}  db={args.db}  model={model}  auth={auth}  files={files}",
        file=sys.stderr,
    )
    try:
        app = create_app(settings)
    except (ImportError, ValueError) as exc:
        print(f"Cannot load --embeddings {args.embeddings!r}: {exc}", file=sys.stderr)
        return 2
    print(
        f"langchain-assistants: retrieval {app.state.services.retrieval.describe()}",
        file=sys.stderr,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
