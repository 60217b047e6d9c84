"""A run's metadata changed while the run executes is kept: the run's own status saves
(in whichever server process executes it) never write back the metadata they started
with (``Store.save_run``)."""

from __future__ import annotations

from collections.abc import Callable

from openai import OpenAI


def test_metadata_changed_mid_run_survives_the_runs_saves(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    slow = "one two three four five six seven eight"
    model = scripted_model([{"match": "", "turns": [{"content": slow, "delay_ms": 60}]}])
    assistant = client.beta.assistants.create(model=model)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run_id = ""
    changed = None
    completed = None
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, metadata={"stage": "started"}
    ) as stream:
        for event in stream:
            if event.event == "thread.run.created":
                run_id = event.data.id
            if event.event == "thread.message.delta" and changed is None:
                # The run is executing: its next saves (message done, run completed) follow.
                changed = client.beta.threads.runs.update(
                    run_id,
                    thread_id=thread.id,
                    metadata={"stage": "changed"},
                )
            if event.event == "thread.run.completed":
                completed = event.data
    assert changed is not None and changed.metadata == {"stage": "changed"}
    assert completed is not None and completed.metadata == {"stage": "changed"}
    stored = client.beta.threads.runs.retrieve(completed.id, thread_id=thread.id)
    assert stored.status == "completed"
    assert stored.metadata == {"stage": "changed"}
