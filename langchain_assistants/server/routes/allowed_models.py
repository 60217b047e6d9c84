"""The operator's model policy at the API's edge: a ``model`` this server does not allow
answers 400 ``invalid_request_error`` (``param: "model"``, ``code: "model_not_allowed"``)
when an assistant or run is created or modified, never a run that fails later."""

from __future__ import annotations

from typing import Any

from ..errors import bad_request
from ..schemas import RunOptions
from .common import Services

MODEL_NOT_ALLOWED = "model_not_allowed"


def check_model(svc: Services, model: str | None, *, param: str = "model") -> None:
    """400 naming ``model`` unless the server's policy allows it (engine/model_policy.py)."""
    if refusal := svc.engine.models.refusal(model):
        raise bad_request(refusal, param=param, code=MODEL_NOT_ALLOWED)


def check_run_model(svc: Services, assistant: dict[str, Any], body: RunOptions) -> None:
    """The model a new run would use: the request's ``model``, else the assistant's (which
    may have been stored under a looser policy: it stays readable, but runs on it are
    refused until the assistant or the run names an allowed model)."""
    if body.model is not None:
        check_model(svc, body.model)
        return
    if refusal := svc.engine.models.refusal(assistant.get("model")):
        raise bad_request(
            f"{refusal} It is the model of assistant {assistant['id']}: modify the assistant's "
            "model or give the run a model this server allows.",
            param="model",
            code=MODEL_NOT_ALLOWED,
        )
