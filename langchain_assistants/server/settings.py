"""Server settings: storage, default model, auth, limits, run expiry, code-interpreter limits,
retrieval."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

API_KEY_ENV = "LANGCHAIN_ASSISTANTS_API_KEY"
API_KEYS_FILE_ENV = "LANGCHAIN_ASSISTANTS_API_KEYS_FILE"
MODEL_ENV = "LANGCHAIN_ASSISTANTS_MODEL"
ALLOWED_MODELS_ENV = "LANGCHAIN_ASSISTANTS_ALLOWED_MODELS"
#: ``serve --workers N`` hands its settings to the worker processes in this variable.
SERVE_SETTINGS_ENV = "LANGCHAIN_ASSISTANTS_SERVE_SETTINGS"
#: ``serve --log-level`` for ``--workers`` processes (each configures its own logging).
WORKER_LOG_LEVEL_ENV = "LANGCHAIN_ASSISTANTS_WORKER_LOG_LEVEL"


def configure_logging(level: str) -> None:
    """The server's log format at ``level`` (``serve`` and each of its worker processes)."""
    logging.basicConfig(level=level.upper(), format="%(levelname)s %(name)s: %(message)s")


_PATH_FIELDS = ("api_keys_file", "sandbox_dir", "files_dir")
DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024
# Where code_interpreter runs code: the local kernel sandbox (bubblewrap), E2B's remote
# sandboxes, or a plain local child process without kernel isolation (unsafe).
SANDBOX, E2B, UNSAFE_LOCAL = "sandbox", "e2b", "unsafe-local"
CODE_INTERPRETER_MODES = (SANDBOX, E2B, UNSAFE_LOCAL)


def model_patterns(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """``--allowed-models`` as a tuple of patterns: a comma-separated string or an
    iterable of them; blanks dropped. ``None`` (no list) stays ``None``; ``""`` is ``()``."""
    if value is None:
        return None
    parts = [value] if isinstance(value, str) else list(value)
    return tuple(p.strip() for part in parts for p in str(part).split(",") if p.strip())


def database_url(db: str) -> str:
    """Map ``--db`` to a SQLAlchemy async URL: a path means SQLite, a URL is kept as is.

    ``postgresql://`` and ``sqlite://`` URLs get their async driver (asyncpg, aiosqlite).
    """
    if "://" not in db:
        return (
            f"sqlite+aiosqlite:///{db}"
            if db == ":memory:"
            else f"sqlite+aiosqlite:///{Path(db).expanduser().resolve()}"
        )
    scheme, rest = db.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{rest}"
    if scheme == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    return db


@dataclass(frozen=True)
class ServerSettings:
    """Everything the app needs; ``api_key`` is a SecretStr so it never shows in reprs or logs.

    ``api_keys_file`` holds ``KEY PROJECT`` lines (see ``server/auth.py``), re-read every
    ``api_keys_reload_seconds`` and on SIGHUP. ``max_request_bytes`` limits JSON bodies.
    """

    db: str = "langchain-assistants.db"
    model: str | None = None
    #: Which model specs clients may name besides ``model`` (exact specs and globs such as
    #: ``openai:gpt-4o*``; a comma-separated string or a list is accepted). None: any
    #: provider spec and bundled scripts, never a script file (``engine/model_policy.py``).
    allowed_models: tuple[str, ...] | None = None
    api_key: SecretStr | None = None
    api_keys_file: Path | None = None
    api_keys_reload_seconds: float = 10.0
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    run_expiry_seconds: float = 600.0
    #: How long a server process's claim on a run it executes lasts unless renewed (it
    #: renews every quarter of it): after a process dies, others finish its runs this late.
    run_lease_seconds: float = 10.0
    poll_after_ms: int = 25
    sandbox_dir: Path | None = None
    #: ``sandbox`` | ``e2b`` | ``unsafe-local`` (see :data:`CODE_INTERPRETER_MODES`).
    code_interpreter: str = SANDBOX
    code_timeout_seconds: float = 30.0
    code_memory_mb: int = 1024
    # Retrieval: an init_embeddings spec (or fake:DIM) turns on hybrid search; None = lexical.
    embeddings: str | None = None
    ingest_concurrency: int = 4
    #: Where uploaded and produced file bytes go: a directory (default beside a SQLite
    #: database) or, with ``file_storage="database"`` (the default on PostgreSQL), the
    #: database itself so that every server process on it reaches them.
    files_dir: Path | None = None
    file_storage: str | None = None  # "directory" | "database"; None: chosen by database
    max_file_bytes: int = 512 * 1024 * 1024
    #: The bubblewrap executable the sandbox uses (name on PATH or a path).
    code_bwrap_path: str = "bwrap"
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_models", model_patterns(self.allowed_models))
        if self.code_interpreter not in CODE_INTERPRETER_MODES:
            raise ValueError(
                f"code_interpreter must be one of {', '.join(CODE_INTERPRETER_MODES)}, "
                f"not {self.code_interpreter!r}"
            )

    @property
    def database_url(self) -> str:
        return database_url(self.db)

    @property
    def sandbox_root(self) -> Path:
        """Where each thread's code-interpreter working directory lives."""
        if self.sandbox_dir is not None:
            return self.sandbox_dir
        if "://" not in self.db and self.db != ":memory:":
            db_path = Path(self.db).expanduser().resolve()
            return db_path.parent / (db_path.stem + "-sandbox")
        return Path.cwd() / "langchain-assistants-sandbox"

    @property
    def file_storage_kind(self) -> str:
        """``directory`` or ``database``: explicit, else a directory unless on PostgreSQL
        without ``files_dir`` (several processes share a database, not a disk)."""
        if self.file_storage is not None:
            if self.file_storage not in ("directory", "database"):
                raise ValueError("file_storage must be 'directory' or 'database'")
            return self.file_storage
        if self.files_dir is None and not self.database_url.startswith("sqlite"):
            return "database"
        return "directory"

    @property
    def files_root(self) -> Path:
        """The directory of file bytes for the directory storage: beside the database."""
        if self.files_dir is not None:
            return Path(self.files_dir)
        if "://" not in self.db and self.db != ":memory:":
            db_path = Path(self.db).expanduser().resolve()
            return db_path.parent / (db_path.stem + "-files")
        return Path.cwd() / "langchain-assistants-files"

    @classmethod
    def from_env(cls, **overrides: object) -> ServerSettings:
        """Settings with the key, model and allowed models taken from the environment
        unless given."""
        values: dict[str, object] = {}
        if key := os.environ.get(API_KEY_ENV):
            values["api_key"] = SecretStr(key)
        if model := os.environ.get(MODEL_ENV):
            values["model"] = model
        if keys_file := os.environ.get(API_KEYS_FILE_ENV):
            values["api_keys_file"] = keys_file
        if (allowed := os.environ.get(ALLOWED_MODELS_ENV)) is not None:
            values["allowed_models"] = allowed
        values.update({k: v for k, v in overrides.items() if v is not None})
        if isinstance(values.get("api_key"), str):
            values["api_key"] = SecretStr(str(values["api_key"]))
        if isinstance(values.get("api_keys_file"), str):
            values["api_keys_file"] = Path(str(values["api_keys_file"]))
        return cls(**values)  # type: ignore[arg-type]


def settings_to_environment(settings: ServerSettings) -> str:
    """The settings as JSON for worker processes (``serve --workers``); they inherit it
    through the environment, which is never logged."""
    values = dataclasses.asdict(settings)
    if settings.api_key is not None:
        values["api_key"] = settings.api_key.get_secret_value()
    for name in _PATH_FIELDS:
        if values[name] is not None:
            values[name] = str(values[name])
    return json.dumps(values)


def settings_from_environment() -> ServerSettings:
    """The settings ``serve --workers`` put in :data:`SERVE_SETTINGS_ENV`."""
    values = json.loads(os.environ[SERVE_SETTINGS_ENV])
    if values.get("api_key") is not None:
        values["api_key"] = SecretStr(values["api_key"])
    for name in _PATH_FIELDS:
        if values.get(name) is not None:
            values[name] = Path(values[name])
    return ServerSettings(**values)
