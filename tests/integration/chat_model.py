"""The chatbot's classifier, trained once per test process and copied into each test's
var directory, so every test's Warta loads it instead of training its own."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from warta.services.chatbot import nlu

_trained: list[Path] = []


def seed(var_dir: Path) -> None:
    if not _trained:
        folder = Path(tempfile.mkdtemp(prefix="warta-chat-model-"))
        nlu.load_or_train(folder)
        _trained.append(folder / "chatbot")
    shutil.copytree(_trained[0], Path(var_dir) / "chatbot", dirs_exist_ok=True)
