"""The request id in log lines: a JSON field, a tag in text lines, absent outside a request."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from warta import logs


@pytest.fixture
def root_restored() -> Iterator[None]:
    """``configure`` replaces the root handlers; pytest's own come back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def emit(request_id: str | None) -> None:
    token = logs.request_id.set(request_id)
    try:
        logging.getLogger("warta.test").info("notification %s accepted", "0190-abc")
    finally:
        logs.request_id.reset(token)


@pytest.mark.usefixtures("root_restored")
@pytest.mark.parametrize(
    ("request_id", "tail"),
    [
        ("req-7", "INFO warta.test [req req-7]: notification 0190-abc accepted"),
        (None, "INFO warta.test: notification 0190-abc accepted"),
    ],
    ids=["in-a-request", "outside-a-request"],
)
def test_text_lines_show_the_request_id(
    capsys: pytest.CaptureFixture[str], request_id: str | None, tail: str
) -> None:
    logs.configure("INFO")
    emit(request_id)
    assert capsys.readouterr().err.rstrip("\n").endswith(tail)


@pytest.mark.usefixtures("root_restored")
@pytest.mark.parametrize("request_id", ["req-7", None], ids=["in-a-request", "outside-a-request"])
def test_json_lines_have_a_request_id_field(
    capsys: pytest.CaptureFixture[str], request_id: str | None
) -> None:
    logs.configure("INFO", as_json=True)
    emit(request_id)
    line = json.loads(capsys.readouterr().err)
    assert line["message"] == "notification 0190-abc accepted"
    assert line.get("request_id") == request_id
