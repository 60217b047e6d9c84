"""A turn's events follow its commits: whatever a streamed event announces, a client can
read at once, in at least that state (``engine/recorder.py``: writes that belong together
are one transaction, published after it commits)."""

from __future__ import annotations

from typing import Any

from openai import OpenAI

ORDER = {"queued": 0, "in_progress": 1, "requires_action": 2, "completed": 3}


def _stored(client: OpenAI, thread_id: str, event: Any) -> Any:
    data = event.data
    if event.event.startswith("thread.run.step."):
        return client.beta.threads.runs.steps.retrieve(
            data.id, thread_id=thread_id, run_id=data.run_id
        )
    if event.event.startswith("thread.message."):
        return client.beta.threads.messages.retrieve(data.id, thread_id=thread_id)
    return client.beta.threads.runs.retrieve(data.id, thread_id=thread_id)


def test_every_announced_object_is_already_stored(client: OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o")
    stream = client.beta.threads.create_and_run(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "Say something."}]},
        stream=True,
    )
    checked = []
    thread_id = ""
    for event in stream:
        if event.event == "thread.created":
            thread_id = event.data.id
            continue
        if event.event.endswith(".delta") or not thread_id:
            continue
        data: Any = event.data
        stored = _stored(client, thread_id, event)
        assert stored.id == data.id
        announced = ORDER.get(data.status, 3)
        assert ORDER.get(stored.status, 3) >= announced, (event.event, stored.status)
        checked.append(event.event)
    assert "thread.message.completed" in checked and "thread.run.completed" in checked
    assert "thread.run.step.created" in checked and "thread.message.created" in checked
