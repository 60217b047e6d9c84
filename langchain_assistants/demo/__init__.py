"""The seed page, end to end: ``python -m langchain_assistants.demo`` (``make demo``).

Offline by default: an embedded server with a deterministic scripted model, real code
execution in the local sandbox. ``--model openai:gpt-4.1-mini`` runs the same flows on a
real model; ``--base-url`` points them at a hosted Assistants-compatible endpoint.
"""
