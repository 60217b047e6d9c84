"""The JSON columns' codec (``store/json_codec.py``): orjson where it can, and what it
refuses still stored and read exactly as the standard library does."""

from __future__ import annotations

import json
import math

from langchain_assistants.server.store import json_codec


def test_plain_objects_round_trip() -> None:
    value = {"id": "msg_1", "content": [{"text": {"value": "héllo ☃", "annotations": []}}]}
    assert json_codec.loads(json_codec.dumps(value)) == value
    assert json.loads(json_codec.dumps(value)) == value  # readable by any JSON reader


def test_what_orjson_refuses_falls_back_to_the_standard_library() -> None:
    for value in ({1: "int key"}, {"big": 2**70}, {"lone": "\ud800"}):
        assert json_codec.dumps(value) == json.dumps(value)
        assert json_codec.loads(json_codec.dumps(value)) == json.loads(json.dumps(value))


def test_rows_with_nan_from_earlier_versions_still_read() -> None:
    assert math.isnan(json_codec.loads('{"x": NaN}')["x"])
