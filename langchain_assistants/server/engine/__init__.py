"""The run engine: executes runs on LangChain chat models and publishes their events."""
