"""A notification's rendered content, stored as one sealed value: JSON, then zlib, then
AES-GCM (warta.security.crypto).

Email is rendered to its text and HTML parts once, when the API accepts it: the same
bytes are then sent on every attempt, the worker spends no time on markdown, and what the
agency was shown is what the citizen gets. Compression keeps the HTML from tripling the
row (about 2.6 kB of JSON becomes 0.9 kB). Compressing before encrypting leaks only the
length of data at rest, to no one who could vary its input and watch.
"""

from __future__ import annotations

import json
import re
import zlib
from typing import Any, cast

from warta.security.crypto import Keyring

FIELD = "notification.content"
Content = dict[str, str | None]

_SURROGATE = re.compile("[\ud800-\udfff]")


def sound(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys too) replaced by U+FFFD.

    The API refuses text that is not Unicode, but content stored before it did (issue 15)
    holds such text, which no page, JSON response or provider can encode: read it shown
    safely rather than failing every page that lists it."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {sound(k): sound(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [sound(v) for v in value]
    return value


def seal(keyring: Keyring, content: Content) -> bytes:
    return keyring.encrypt_bytes(zlib.compress(json.dumps(content).encode()), field=FIELD)


def unseal(keyring: Keyring, blob: bytes) -> Content:
    data = zlib.decompress(keyring.decrypt_bytes(blob, field=FIELD))
    return cast(Content, sound(json.loads(data)))


#: Every channel's content of one message: a citizen send's other channels (kept for
#: escalation) or a broadcast's shared content.
ChannelContents = dict[str, Content]


def seal_channels(keyring: Keyring, contents: ChannelContents, *, field: str) -> bytes:
    return keyring.encrypt_bytes(zlib.compress(json.dumps(contents).encode()), field=field)


def unseal_channels(keyring: Keyring, blob: bytes, *, field: str) -> ChannelContents:
    data = zlib.decompress(keyring.decrypt_bytes(blob, field=field))
    return cast(ChannelContents, sound(json.loads(data)))
