"""OpenAIAssistantRunnable as the model node of a LangGraph loop.

The graph alternates two nodes until the assistant finishes:

    START -> assistant -> (finished? END : tools) -> assistant -> ...

``assistant`` starts a turn (``content``) or submits the tool outputs of the pending run;
``tools`` runs the requested tools. Run it: ``python examples/langgraph_agent.py``
(offline, on the embedded server with a scripted model).

With a checkpointer the state (our actions and finish included) is saved between steps;
give its serializer :data:`langchain_assistants.CHECKPOINT_ALLOWLIST` so LangGraph loads
those types without its "unregistered type" warning::

    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    saver = InMemorySaver(serde=JsonPlusSerializer(allowed_msgpack_modules=CHECKPOINT_ALLOWLIST))
    graph = build_graph(agent, tools, checkpointer=saver)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from langchain_core.agents import AgentFinish
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph

from langchain_assistants import (
    CHECKPOINT_ALLOWLIST,  # noqa: F401 - shown in the module docstring
    OpenAIAssistantAction,
    OpenAIAssistantFinish,
    OpenAIAssistantRunnable,
)


class AgentState(TypedDict, total=False):
    content: str  # the user's message
    thread_id: str  # continue this thread (optional)
    response: list[OpenAIAssistantAction] | OpenAIAssistantFinish  # the latest answer
    tool_outputs: list[dict[str, Any]]  # outputs for the pending run


def build_graph(
    agent: OpenAIAssistantRunnable, tools: Sequence[BaseTool], checkpointer: Any = None
) -> Any:
    """Compile the loop; ``graph.invoke({"content": ...})["response"]`` is the AgentFinish."""
    tool_map = {tool.name: tool for tool in tools}

    def assistant(state: AgentState) -> AgentState:
        pending = state.get("response")
        if isinstance(pending, list) and pending:
            step = pending[0]
            request = {
                "tool_outputs": state["tool_outputs"],
                "run_id": step.run_id,
                "thread_id": step.thread_id,
            }
        else:
            request = {"content": state["content"]}
            if state.get("thread_id"):
                request["thread_id"] = state["thread_id"]
        return {"response": agent.invoke(request)}

    def run_tools(state: AgentState) -> AgentState:
        actions = state["response"]
        assert isinstance(actions, list)
        outputs = [
            {"output": tool_map[a.tool].invoke(a.tool_input), "tool_call_id": a.tool_call_id}
            for a in actions
        ]
        return {"tool_outputs": outputs}

    def route(state: AgentState) -> str:
        return END if isinstance(state["response"], AgentFinish) else "tools"

    graph = StateGraph(AgentState)
    graph.add_node("assistant", assistant)
    graph.add_node("tools", run_tools)
    graph.add_edge(START, "assistant")
    graph.add_conditional_edges("assistant", route, ["tools", END])
    graph.add_edge("tools", "assistant")
    return graph.compile(checkpointer=checkpointer)


def main() -> None:
    import json
    import tempfile
    import warnings
    from pathlib import Path

    from openai import OpenAI

    from langchain_assistants.server import start_server
    from langchain_assistants.tools import PythonCodeTool

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    script = {
        "rules": [
            {
                "match": "raised to the",
                "turns": [
                    {
                        "tool_calls": [
                            {
                                "name": "python_interpreter",
                                "args": {"python_code": "print(10 - 4 ** 2.7)"},
                            }
                        ]
                    },
                    {"content": "10 - 4^2.7 is about {last_tool_output[stdout]}."},
                ],
            }
        ]
    }
    # The assistant names a script file: a server refuses those unless allowed.
    with tempfile.TemporaryDirectory() as tmp, start_server(allowed_models="scripted:*") as server:
        path = Path(tmp, "script.json")
        path.write_text(json.dumps(script))
        client = OpenAI(base_url=server.base_url, api_key=server.api_key)
        tools = [PythonCodeTool()]
        agent = OpenAIAssistantRunnable.create_assistant(
            name="graph tutor",
            instructions="Use Python for math.",
            tools=tools,
            model=f"scripted:{path}",
            client=client,
            as_agent=True,
        )
        final = build_graph(agent, tools).invoke({"content": "What's 10 - 4 raised to the 2.7?"})
        print(final["response"].return_values["output"])


if __name__ == "__main__":
    main()
