"""Run every flow of the seed page and print what happens, readably."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any, cast

from langchain_core.agents import AgentFinish
from langchain_core.tools import BaseTool
from openai import OpenAI
from openai.types.beta.threads import Message

from ..client import OpenAIAssistantRunnable
from ..tools import PythonCodeTool, WebSearchTool

OFFLINE_SEARCH_RESULT = [
    {
        "title": "San Francisco weather (offline demo result)",
        "href": "https://example.invalid/sf-weather",
        "body": "Today in San Francisco: 67 °F, sunny.",
    }
]


@dataclass
class Setup:
    client: OpenAI
    scripted: bool
    model: str | None

    def model_for(self, script: str) -> str:
        """The assistant's model: a bundled script by name when scripted (``scripted:agent``:
        a server allows those, not script files, by default), else the chosen model."""
        if self.scripted:
            return f"scripted:{script}"
        return self.model or "gpt-4o"


def say(text: str = "") -> None:
    print(text, flush=True)


def heading(number: int, title: str) -> None:
    say()
    say(f"── {number}. {title} " + "─" * max(0, 60 - len(title)))


def make_tools(scripted: bool) -> list[BaseTool]:
    python_tool = PythonCodeTool()
    if scripted:
        # Offline: the web search answers from a canned result, and says so.
        search = WebSearchTool(search_backend=lambda query, n: OFFLINE_SEARCH_RESULT)
    else:
        search = WebSearchTool()
    return [python_tool, search]


def execute_agent(agent: OpenAIAssistantRunnable, tools: list[BaseTool], input: dict) -> Any:
    """The seed page's hand-written execution loop, unchanged."""
    tool_map = {tool.name: tool for tool in tools}
    response = agent.invoke(input)
    while not isinstance(response, AgentFinish):
        tool_outputs = []
        for action in response:
            tool_output = tool_map[action.tool].invoke(action.tool_input)
            say(f"   tool {action.tool} {action.tool_input} -> {tool_output}")
            tool_outputs.append({"output": tool_output, "tool_call_id": action.tool_call_id})
        response = agent.invoke(
            {"tool_outputs": tool_outputs, "run_id": action.run_id, "thread_id": action.thread_id}
        )
    return response


def show_code_steps(client: OpenAI, thread_id: str, run_id: str) -> None:
    steps = client.beta.threads.runs.steps.list(run_id, thread_id=thread_id, order="asc")
    for step in steps:
        if step.step_details.type != "tool_calls":
            continue
        for call in step.step_details.tool_calls:
            if call.type == "code_interpreter":
                say(f"   code_interpreter ran: {call.code_interpreter.input!r}")
                for output in call.code_interpreter.outputs:
                    if output.type == "logs":
                        say(f"   output: {output.logs.strip()}")


DOCUMENT = "lighthouse-handbook.md"
DOCUMENT_QUESTION = "When is the Skerry Point lamp lit in winter?"


def best_passage(quote: str, answer: str) -> str:
    """The sentence of a cited chunk that shares the most words with the answer."""
    words = set(re.findall(r"\w+", answer.lower()))
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(quote.split()))
    return max(sentences, key=lambda s: len(words & set(re.findall(r"\w+", s.lower()))))


def cited_answer(finish: AgentFinish) -> list[str]:
    """The answer with each citation marker replaced by ``[n]``, then the sources, as the
    OpenAI file-search guide prints them (with the cited chunk's best-matching sentence)."""
    text = str(finish.return_values["output"])
    sources = []
    for n, citation in enumerate(finish.return_values.get("citations") or []):
        text = text.replace(citation["text"], f"[{n}]")
        passage = best_passage(str(citation.get("quote") or ""), text)
        sources.append(f'[{n}] {citation["filename"]} ({citation["file_id"]}): "{passage}"')
    return [text, *sources]


def chat_with_document(setup: Setup) -> None:
    """Upload the document shipped with the package, ask about it, print the cited answer."""
    client = setup.client
    document = resources.files(__package__).joinpath("documents", DOCUMENT)
    uploaded = client.files.create(file=(DOCUMENT, document.read_bytes()), purpose="assistants")
    say(f"   uploaded {DOCUMENT} as {uploaded.id} ({uploaded.bytes} bytes)")
    reader = OpenAIAssistantRunnable.create_assistant(
        name="document reader",
        instructions="Answer from the attached document with file_search, and cite it.",
        tools=[{"type": "file_search"}],
        model=setup.model_for("document"),
        as_agent=True,
        client=client,
    )
    say(f"   user: {DOCUMENT_QUESTION}")
    # The attachment goes into the thread's own vector store; the run searches it.
    finish = reader.invoke(
        {
            "content": DOCUMENT_QUESTION,
            "attachments": [{"file_id": uploaded.id, "tools": [{"type": "file_search"}]}],
        }
    )
    if not isinstance(finish, AgentFinish):  # a real model may ask for a tool we lack
        raise RuntimeError(f"the document reader asked for tools: {finish}")
    answer, *sources = cited_answer(finish)
    say(f"   assistant: {answer}")
    for source in sources:
        say(f"   {source}")


def run_flows(setup: Setup) -> None:
    client = setup.client
    heading(1, "Using only OpenAI tools (code interpreter)")
    interpreter_assistant = OpenAIAssistantRunnable.create_assistant(
        name="langchain assistant",
        instructions="You are a personal math tutor. Write and run code to answer math questions.",
        tools=[{"type": "code_interpreter"}],
        model=setup.model_for("interpreter"),
        client=client,
    )
    question = "What's 10 - 4 raised to the 2.7"
    say(f"   user: {question}")
    output = cast("list[Message]", interpreter_assistant.invoke({"content": question}))
    if output and output[0].run_id:
        show_code_steps(client, output[0].thread_id, output[0].run_id)
    for message in output:
        for block in message.content:
            if block.type == "text":
                say(f"   assistant: {block.text.value.strip()}")

    tools = make_tools(setup.scripted)
    heading(2, "As a LangChain agent with custom tools, in AgentExecutor")
    from langchain_classic.agents import AgentExecutor

    agent = OpenAIAssistantRunnable.create_assistant(
        name="langchain assistant e2b tool",
        instructions="You are a personal math tutor. Write and run code to answer math "
        "questions. You can also search the internet.",
        tools=tools,
        model=setup.model_for("agent"),
        as_agent=True,
        client=client,
    )
    agent_executor = AgentExecutor(agent=agent, tools=tools, return_intermediate_steps=True)  # type: ignore[arg-type]
    question = "What's the weather in SF today divided by 2.7"
    say(f"   user: {question}")
    result = agent_executor.invoke({"content": question})
    for action, observation in result["intermediate_steps"]:
        say(f"   tool {action.tool} {action.tool_input} -> {observation}")
    say(f"   output: {result['output']}")
    say(f"   thread_id={result['thread_id']} run_id={result['run_id']}")

    heading(3, "Custom execution: the hand-written loop")
    question = "What's 10 - 4 raised to the 2.7"
    say(f"   user: {question}")
    response = execute_agent(agent, tools, {"content": question})
    say(f"   output: {response.return_values['output']}")

    heading(4, "Using an existing thread")
    say("   user: now add 17.241")
    next_response = execute_agent(
        agent,
        tools,
        {"content": "now add 17.241", "thread_id": response.return_values["thread_id"]},
    )
    say(f"   output: {next_response.return_values['output']}")

    heading(5, "Using an existing assistant")
    existing = OpenAIAssistantRunnable(
        assistant_id=agent.assistant_id, as_agent=True, client=client
    )
    say(f"   OpenAIAssistantRunnable(assistant_id={existing.assistant_id!r}, as_agent=True)")
    again = execute_agent(existing, tools, {"content": "What's 10 - 4 raised to the 2.7"})
    say(f"   output: {again.return_values['output']}")
    usage = again.return_values.get("usage")
    if usage:
        say(f"   token usage of that run: {json.dumps(usage)}")

    heading(6, "Chat with a document (file_search, citations)")
    chat_with_document(setup)


@contextmanager
def connect(args: argparse.Namespace) -> Iterator[Setup]:
    """A client for the hosted endpoint, or for an embedded server started here."""
    if args.base_url:
        key = args.api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            raise SystemExit("--base-url needs --api-key or OPENAI_API_KEY.")
        say(f"Endpoint: {args.base_url}")
        say(f"Model:    {args.model or 'gpt-4o'} (as named on the assistants)")
        with OpenAI(base_url=args.base_url, api_key=key) as client:
            yield Setup(client, scripted=False, model=args.model)
        return
    from ..server import start_server

    scripted = args.model is None
    with start_server(model=args.model) as server:
        say(f"Server:   embedded, {server.base_url} (SQLite in a temporary directory)")
        if scripted:
            say("Model:    SCRIPTED — a deterministic offline stand-in for a real model. The code")
            say("          it writes really runs in the local sandbox; web search is a canned")
            say("          offline result. Try --model openai:gpt-4.1-mini for a real model.")
        else:
            say(f"Model:    {args.model}")
        with OpenAI(base_url=server.base_url, api_key=server.api_key) as client:
            yield Setup(client, scripted=scripted, model=args.model)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m langchain_assistants.demo",
        description="The LangChain 'OpenAI assistants' page, end to end.",
    )
    parser.add_argument(
        "--model",
        default=os.environ.get("LANGCHAIN_ASSISTANTS_DEMO_MODEL"),
        help="a chat model (init_chat_model string, e.g. openai:gpt-4.1-mini); default: scripted",
    )
    parser.add_argument("--base-url", default=None, help="a hosted Assistants-compatible endpoint")
    parser.add_argument("--api-key", default=None, help="key for --base-url (or OPENAI_API_KEY)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    say("langchain-assistants demo: the seed page's flows on OpenAIAssistantRunnable")
    try:
        with connect(args) as setup:
            run_flows(setup)
    except KeyboardInterrupt:
        say("\nInterrupted.")
        return 130
    except Exception as exc:  # readable, not a traceback
        print(f"\ndemo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    say()
    say("Done: every flow of the seed page ran.")
    return 0
