"""Fill ``((placeholders))`` in template text with a recipient's personalisation.

The syntax is GOV.UK Notify's, so templates written for Notify work unchanged:

* ``Halo ((nama))`` becomes ``Halo Budi`` given ``{"nama": "Budi"}``.
* Names match loosely, the way Notify's ``InsensitiveDict`` does: case, spaces,
  underscores and hyphens are ignored, so ``((Nomor antrean))`` is filled by
  ``"nomor_antrean"``, ``"NOMOR-ANTREAN"`` or ``"nomorantrean"``. People type keys in
  spreadsheets and JSON by hand; a strict match turns a stray space into a failed send.
* ``((vaksin_kedua??Bawa kartu vaksin Anda.))`` is optional content: the text after
  ``??`` is shown when the value is "yes-like" (see ``is_truthy``), else nothing.
* A list value becomes ``"KTP, KK dan akta lahir"`` in an SMS and a bullet list in an
  email, so one template serves any number of items.

Only well-formed placeholders are replaced: the body between ``((`` and ``))`` may not
contain parentheses and must have a name with at least one letter or digit. Anything
else -- a lone ``((``, ``(())``, ``(( ))`` or ``((??teks))`` -- stays as literal text
instead of raising ``InvalidTemplate``, because Notify behaves that way and templates
often contain emoticons and bracketed asides such as ``((tanpa biaya)`` that are not
meant as placeholders. The cost is that conditional text cannot contain parentheses.

Values are inserted verbatim, never HTML-escaped: the SMS channel must not see ``&amp;``
and the email renderer escapes everything it is given. Numbers and booleans are written
as JSON writes them (``personalisation.as_text``: ``true``, ``7``), never as Python does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Literal

from warta.domain.channels import ChannelName
from warta.domain.personalisation import as_text
from warta.errors import MissingPersonalisation

#: The channels an agency writes a template body for: a template is one of them, or
#: ``multi`` with a body for each (push and chat reuse those bodies).
TemplateKind = Literal["sms", "email"]

#: ``((`` then at least one character that is not a parenthesis, then ``))``.
#: ``(((nama)))`` matches the inner ``((nama))``, leaving one bracket each side.
PLACEHOLDER = re.compile(r"\(\(([^()]+)\)\)")

CONDITIONAL_SEPARATOR = "??"

#: Characters a placeholder name may differ by and still match (as Notify's InsensitiveDict).
_IGNORED_IN_KEYS = str.maketrans("", "", " _-")

#: Values (compared stripped and case-insensitively) that hide optional ``((name??text))``.
#: Notify shows the text only for a short yes-list; we hide it only for this no-list, so an
#: unexpected value such as ``"2 dosis"`` shows the text rather than silently dropping it.
#: ``"tidak"``/``"tdk"``/``"t"`` are Indonesian "no" (forms use Y/T for ya/tidak), which is
#: why ``"t"`` means *no* here although Notify reads it as "true".
FALSY_WORDS = frozenset(
    {"", "0", "f", "false", "n", "no", "none", "null", "off", "t", "tdk", "tidak"}
)


def key(name: str) -> str:
    """The form two placeholder names are compared in: ``"First name"`` -> ``"firstname"``."""
    return name.translate(_IGNORED_IN_KEYS).lower()


def _parse(body: str) -> tuple[str, str | None] | None:
    """Split a placeholder body into its name and optional conditional text.

    ``"nama"`` -> ``("nama", None)``; ``" vaksin ??Bawa kartu"`` -> ``("vaksin", "Bawa kartu")``;
    ``"a??b??c"`` -> ``("a", "b??c")``; ``"??teks"`` and ``" - "`` -> ``None`` (literal text).
    """
    name, separator, text = body.partition(CONDITIONAL_SEPARATOR)
    name = name.strip()
    if not key(name):
        return None
    return name, (text if separator else None)


def _placeholders_in(text: str) -> Iterator[tuple[str, str | None]]:
    for match in PLACEHOLDER.finditer(text):
        parsed = _parse(match.group(1))
        if parsed is not None:
            yield parsed


def placeholders(text: str) -> list[str]:
    """Names of the placeholders in ``text``, each once, in the order first written.

    >>> placeholders("Halo ((Nama)), antrean ((nomor??Nomor Anda siap.)) ((nama))")
    ['Nama', 'nomor']
    """
    return _unique_names([text])


def _unique_names(texts: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for text in texts:
        for folded, name in _names_in(text):
            seen.setdefault(folded, name)
    return list(seen.values())


@functools.lru_cache(maxsize=512)
def _names_in(text: str) -> tuple[tuple[str, str], ...]:
    """``(key(name), name)`` of each placeholder in ``text``. Cached: every send of a
    template asks this of the same text (a template's, never a rendered message)."""
    return tuple((key(name), name) for name, _ in _placeholders_in(text))


def _lookup(personalisation: Mapping[str, object]) -> dict[str, object]:
    """Personalisation keyed by ``key(name)``; of two keys that collide, the later wins."""
    return {key(name): value for name, value in personalisation.items()}


def missing_personalisation(
    texts: Iterable[str], personalisation: Mapping[str, object]
) -> list[str]:
    """Placeholders across ``texts`` (e.g. subject then body) that have no value.

    A key that is absent or whose value is ``None`` is missing, for plain and for
    conditional placeholders alike (as Notify): ``((vaksin??...))`` without a ``vaksin``
    key is a mistake by the caller, not a "no".

    >>> missing_personalisation(["((Nama))", "((nama)) ((kode))"], {"NAMA": "Budi"})
    ['kode']
    """
    values = _lookup(personalisation)
    return [name for name in _unique_names(texts) if values.get(key(name)) is None]


def _items(value: Sequence[object]) -> list[str]:
    """List items as text, dropping ``None`` and blank items (as Notify)."""
    stripped = (as_text(item).strip() for item in value if item is not None)
    return [item for item in stripped if item]


def format_list(items: Sequence[str], conjunction: str = "dan") -> str:
    """Join items the way a sentence does, without a serial comma.

    ``["KTP"]`` -> ``"KTP"``; ``["KTP", "KK"]`` -> ``"KTP dan KK"``;
    ``["KTP", "KK", "akta"]`` -> ``"KTP, KK dan akta"``; ``[]`` -> ``""``.
    """
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def is_truthy(value: object) -> bool:
    """Whether optional ``((name??text))`` content is shown for this value.

    ``True``, ``1``, ``"ya"``, ``"Yes"``, ``"2 dosis"`` and ``["KTP"]`` show it;
    ``False``, ``0``, ``"Tidak"``, ``" no "``, ``"t"``, ``""``, ``[]`` and ``[None, " "]`` hide it.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, list | tuple):
        return bool(_items(value))
    return str(value).strip().lower() not in FALSY_WORDS


def _format_value(value: object, channel: ChannelName, conjunction: str) -> str:
    if not isinstance(value, list | tuple):
        return as_text(value)
    items = _items(value)
    if channel == "email" and items:
        # A blank line first, so the markdown renderer starts a new <ul> block.
        return "\n\n" + "\n".join(f"* {item}" for item in items)
    return format_list(items, conjunction)


def render(
    text: str,
    personalisation: Mapping[str, object],
    *,
    channel: ChannelName,
    conjunction: str = "dan",
) -> str:
    """Replace every placeholder in ``text``; extra personalisation keys are ignored.

    ``channel="email"`` gives markdown for ``warta.domain.email.render_email``; every
    other channel plain text (use ``"sms"`` for email subjects too).

    >>> render("Halo ((nama)), bawa ((dokumen)).", {"Nama": "Budi", "dokumen": ["KTP", "KK"]},
    ...        channel="sms")
    'Halo Budi, bawa KTP dan KK.'

    Raises ``MissingPersonalisation`` naming every missing field, in template order.
    """
    missing = missing_personalisation([text], personalisation)
    if missing:
        raise MissingPersonalisation(missing)
    values = _lookup(personalisation)

    def replace(match: re.Match[str]) -> str:
        parsed = _parse(match.group(1))
        if parsed is None:
            return match.group(0)
        name, conditional = parsed
        value = values[key(name)]
        if conditional is not None:
            return conditional if is_truthy(value) else ""
        return _format_value(value, channel, conjunction)

    return PLACEHOLDER.sub(replace, text)
