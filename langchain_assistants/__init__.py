"""OpenAI-style Assistants as LangChain agents, with a bundled Assistants-v2 server."""

__all__: list[str] = []
