"""PythonCodeTool (local sandbox and E2B backends) and WebSearchTool; no test uses the network."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import ToolException
from pydantic import SecretStr

from langchain_assistants.tools import (
    CodeResult,
    E2BBackend,
    LocalSandboxBackend,
    PythonCodeTool,
    WebSearchTool,
    ddgs_search,
)

e2b_models = pytest.importorskip("e2b_code_interpreter")
e2b = pytest.importorskip("e2b")
ddgs = pytest.importorskip("ddgs")
ddgs_exceptions = pytest.importorskip("ddgs.exceptions")

PNG = b"\x89PNG\r\n\x1a\n fake image"


# --- local backend -------------------------------------------------------------------------


def test_local_backend_runs_code_for_real(tmp_path: Path) -> None:
    tool = PythonCodeTool(backend=LocalSandboxBackend(tmp_path))
    output = json.loads(tool.invoke({"python_code": "10 - 4 ** 2.7"}))
    assert set(output) == {"stdout", "stderr", "artifacts"}
    assert float(output["stdout"]) == pytest.approx(-32.224, abs=1e-3)
    assert output["stderr"] == "" and output["artifacts"] == []


def test_local_backend_reports_files_errors_and_keeps_its_workdir(tmp_path: Path) -> None:
    backend = LocalSandboxBackend()
    backend.workdir = tmp_path
    tool = PythonCodeTool(backend=backend)
    written = json.loads(tool.invoke({"python_code": "open('out.csv', 'w').write('a,b')\nNone"}))
    assert written["artifacts"] == ["out.csv"]
    failed = json.loads(tool.invoke({"python_code": "print(open('out.csv').read())\n1 / 0"}))
    assert failed["stdout"] == "a,b\n"
    assert "ZeroDivisionError" in failed["stderr"]
    assert failed["stderr"].endswith("Process exited with code 1\n")


def test_each_tool_gets_its_own_default_workdir() -> None:
    first, second = PythonCodeTool(), PythonCodeTool()
    assert isinstance(first.backend, LocalSandboxBackend)
    assert isinstance(second.backend, LocalSandboxBackend)
    assert first.backend.workdir != second.backend.workdir
    assert first.backend.workdir.is_dir()


async def test_local_backend_async(tmp_path: Path) -> None:
    tool = PythonCodeTool(backend=LocalSandboxBackend(tmp_path))
    output = json.loads(await tool.ainvoke({"python_code": "print(6 * 7)"}))
    assert output["stdout"] == "42\n"


class RecordingBackend:
    """A CodeBackend fake: the seam the tool talks to."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def run(self, code: str) -> CodeResult:
        self.calls.append(("sync", code))
        return CodeResult(stdout="out", stderr="", artifacts=["a.png"])

    async def arun(self, code: str) -> CodeResult:
        self.calls.append(("async", code))
        return CodeResult(stdout="aout", stderr="err")


async def test_tool_delegates_to_any_backend() -> None:
    backend = RecordingBackend()
    tool = PythonCodeTool(backend=backend)
    assert json.loads(tool.invoke({"python_code": "x"})) == {
        "stdout": "out",
        "stderr": "",
        "artifacts": ["a.png"],
    }
    assert json.loads(await tool.ainvoke({"python_code": "y"}))["stdout"] == "aout"
    assert backend.calls == [("sync", "x"), ("async", "y")]
    assert tool.name == "python_interpreter"
    assert list(tool.args) == ["python_code"]


# --- E2B backend ---------------------------------------------------------------------------


def sample_execution() -> Any:
    """A real ``e2b_code_interpreter`` Execution: logs, a displayed PNG and a final value."""
    return e2b_models.Execution(
        logs=e2b_models.Logs(stdout=["hello\n"], stderr=["warn\n"]),
        results=[
            e2b_models.Result(png=base64.b64encode(PNG).decode()),
            e2b_models.Result(text="42", is_main_result=True),
        ],
    )


class FakeSandbox:
    """Stands in for ``e2b_code_interpreter.Sandbox``: records calls, returns canned runs."""

    instances: list[FakeSandbox] = []

    def __init__(self, api_key: str, execution: Any = None, error: Exception | None = None):
        self.api_key = api_key
        self.execution = execution if execution is not None else sample_execution()
        self.error = error
        self.codes: list[str] = []
        self.killed = False
        FakeSandbox.instances.append(self)

    @classmethod
    def create(cls, api_key: str | None = None, timeout: int | None = None) -> FakeSandbox:
        return cls(api_key or "")

    def run_code(self, code: str, *, timeout: float | None = None) -> Any:
        self.codes.append(code)
        if self.error is not None:
            raise self.error
        return self.execution

    def kill(self) -> bool:
        self.killed = True
        return True


class FakeAsyncSandbox(FakeSandbox):
    async def run_code(self, code: str, *, timeout: float | None = None) -> Any:  # type: ignore[override]
        return FakeSandbox.run_code(self, code, timeout=timeout)

    async def kill(self) -> bool:  # type: ignore[override]
        return FakeSandbox.kill(self)


def test_e2b_backend_maps_execution_and_reuses_its_sandbox(tmp_path: Path) -> None:
    created: list[FakeSandbox] = []

    def factory(api_key: str) -> FakeSandbox:
        created.append(FakeSandbox(api_key))
        return created[-1]

    backend = E2BBackend(api_key="e2b_test", output_dir=tmp_path, sandbox_factory=factory)
    tool = PythonCodeTool(backend=backend)
    output = json.loads(tool.invoke({"python_code": "print('hello')"}))
    assert output["stdout"] == "hello\n42\n"
    assert output["stderr"] == "warn\n"
    [artifact] = output["artifacts"]
    assert Path(artifact).parent == tmp_path and Path(artifact).read_bytes() == PNG
    tool.invoke({"python_code": "x = 1"})
    assert len(created) == 1 and created[0].api_key == "e2b_test"
    assert created[0].codes == ["print('hello')", "x = 1"]
    backend.close()
    assert created[0].killed


def test_e2b_backend_reports_code_errors_in_stderr(tmp_path: Path) -> None:
    error = e2b_models.ExecutionError("ZeroDivisionError", "division by zero", "Traceback ...")
    execution = e2b_models.Execution(error=error)
    backend = E2BBackend(
        api_key=SecretStr("k"),
        output_dir=tmp_path,
        sandbox_factory=lambda key: FakeSandbox(key, execution=execution),
    )
    assert backend.run("1 / 0") == CodeResult(stdout="", stderr="Traceback ...\n")


def test_e2b_default_factory_uses_the_lazily_imported_sandbox(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(e2b_models, "Sandbox", FakeSandbox)
    monkeypatch.setenv("E2B_API_KEY", "from-env")
    FakeSandbox.instances.clear()
    output = json.loads(PythonCodeTool(backend=E2BBackend(output_dir=tmp_path)).invoke("1"))
    assert output["stdout"] == "hello\n42\n"
    assert [sandbox.api_key for sandbox in FakeSandbox.instances] == ["from-env"]


async def test_e2b_backend_async_path(tmp_path: Path) -> None:
    keys: list[str] = []

    async def factory(api_key: str) -> FakeAsyncSandbox:
        keys.append(api_key)
        return FakeAsyncSandbox(api_key)

    backend = E2BBackend(api_key="k", output_dir=tmp_path, async_sandbox_factory=factory)
    tool = PythonCodeTool(backend=backend)
    first = json.loads(await tool.ainvoke({"python_code": "a"}))
    await tool.ainvoke({"python_code": "b"})
    assert first["stdout"] == "hello\n42\n" and len(first["artifacts"]) == 1
    assert keys == ["k"]
    await backend.aclose()


async def test_missing_e2b_key_is_a_clear_tool_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("E2B_API_KEY", raising=False)
    factory_calls: list[str] = []

    def factory(api_key: str) -> FakeSandbox:
        factory_calls.append(api_key)
        return FakeSandbox(api_key)

    backend = E2BBackend(sandbox_factory=factory)
    message = PythonCodeTool(backend=backend).invoke({"python_code": "1"})
    assert "E2B_API_KEY" in message
    assert "E2B_API_KEY" in await PythonCodeTool(backend=backend).ainvoke({"python_code": "1"})
    call = {"type": "tool_call", "id": "call_1", "name": "python_interpreter", "args": {}}
    reply = PythonCodeTool(backend=backend).invoke({**call, "args": {"python_code": "1"}})
    assert isinstance(reply, ToolMessage) and reply.status == "error"
    strict = PythonCodeTool(backend=backend, handle_tool_error=False)
    with pytest.raises(ToolException, match="E2B_API_KEY"):
        strict.invoke({"python_code": "1"})
    assert factory_calls == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx.ConnectError("dns error: no records found"), "Could not reach E2B (network error)"),
        (
            e2b.AuthenticationException("invalid key"),
            "E2B rejected the API key (check E2B_API_KEY)",
        ),
        (e2b.SandboxException("boom"), "E2B sandbox error: SandboxException: boom"),
    ],
)
def test_e2b_infrastructure_failures_become_clear_errors(error: Exception, expected: str) -> None:
    attempts: list[str] = []

    def failing_factory(api_key: str) -> FakeSandbox:
        attempts.append(api_key)
        raise error

    tool = PythonCodeTool(backend=E2BBackend(api_key="k", sandbox_factory=failing_factory))
    assert expected in tool.invoke({"python_code": "1"})
    tool.invoke({"python_code": "1"})
    assert attempts == ["k", "k"]  # a failed sandbox is not cached: the next call retries


def test_e2b_network_failure_mid_run_discards_the_sandbox() -> None:
    sandboxes: list[FakeSandbox] = []

    def factory(api_key: str) -> FakeSandbox:
        error = httpx.ReadError("connection reset") if not sandboxes else None
        sandboxes.append(FakeSandbox(api_key, error=error))
        return sandboxes[-1]

    backend = E2BBackend(api_key="k", sandbox_factory=factory)
    with pytest.raises(ToolException, match="network error"):
        backend.run("1")
    assert backend.run("1").stdout == "hello\n42\n"
    assert len(sandboxes) == 2


def test_e2b_execution_timeout_is_reported_as_output() -> None:
    timeout = e2b.TimeoutException("Execution timed out — the 'timeout' option can be used")
    sandbox = FakeSandbox("k", error=timeout)
    backend = E2BBackend(api_key="k", timeout=5.0, sandbox_factory=lambda key: sandbox)
    result = backend.run("while True: pass")
    assert result.stderr.startswith("Execution timed out after 5.0s")
    assert sandbox.killed


# --- web search ----------------------------------------------------------------------------


def test_web_search_formats_backend_results() -> None:
    seen: list[tuple[str, int]] = []

    def backend(query: str, max_results: int) -> list[dict[str, Any]]:
        seen.append((query, max_results))
        return [{"title": "LangChain", "href": "https://x.test", "body": "Build agents."}]

    tool = WebSearchTool(search_backend=backend, max_results=3)
    assert json.loads(tool.invoke({"query": "langchain"})) == [
        {"title": "LangChain", "url": "https://x.test", "snippet": "Build agents."}
    ]
    assert seen == [("langchain", 3)]
    empty = WebSearchTool(search_backend=lambda query, n: [])
    assert empty.invoke({"query": "zzz"}) == "No results found for 'zzz'."


async def test_web_search_async() -> None:
    tool = WebSearchTool(search_backend=lambda query, n: [{"title": query, "href": "u"}])
    assert json.loads(await tool.ainvoke({"query": "q"}))[0]["title"] == "q"


@pytest.mark.parametrize(
    "error",
    [
        # What ddgs raises offline: its exception wrapping the engine's DNS failure.
        ddgs_exceptions.DDGSException(
            ddgs_exceptions.DDGSException("DNSError: error sending request > resolving DNS")
        ),
        ConnectionRefusedError("Connection refused"),
        httpx.ConnectTimeout("timed out"),
    ],
)
async def test_web_search_network_errors_are_clear(error: Exception) -> None:
    def offline(query: str, max_results: int) -> list[dict[str, Any]]:
        raise error

    tool = WebSearchTool(search_backend=offline)
    assert "network is unreachable" in tool.invoke({"query": "q"})
    assert "network is unreachable" in await tool.ainvoke({"query": "q"})
    with pytest.raises(ToolException, match="network is unreachable"):
        WebSearchTool(search_backend=offline, handle_tool_error=False).invoke({"query": "q"})


def test_web_search_other_errors() -> None:
    def broken(query: str, max_results: int) -> list[dict[str, Any]]:
        raise ValueError("bad query")

    message = WebSearchTool(search_backend=broken).invoke({"query": "q"})
    assert message == "Web search failed: ValueError: bad query"


def test_ddgs_search_uses_ddgs_text(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeDDGS:
        def text(self, query: str, max_results: int) -> list[dict[str, Any]]:
            if query == "nothing":
                raise ddgs_exceptions.DDGSException("No results found.")
            return [{"title": query, "href": "h", "body": str(max_results)}]

    monkeypatch.setattr(ddgs, "DDGS", FakeDDGS)
    assert ddgs_search("python", 2) == [{"title": "python", "href": "h", "body": "2"}]
    assert ddgs_search("nothing", 2) == []
    assert WebSearchTool().invoke({"query": "nothing"}) == "No results found for 'nothing'."
