"""The one Jinja environment for server-rendered pages (/dev/outbox, the citizen portal).

Autoescaped: what pages show (message text, agency names) came from someone else.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent.parent / "web" / "templates"),
    autoescape=select_autoescape(),
)
