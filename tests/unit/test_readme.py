"""The README is the manual: it must name every setting and every command that exists."""

from __future__ import annotations

from pathlib import Path

import click

from warta.cli import main
from warta.settings import Settings

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_with_its_default() -> None:
    for name, field in Settings.model_fields.items():
        row = next(
            (line for line in README.splitlines() if line.startswith(f"| `WARTA_{name.upper()}`")),
            "",
        )
        assert row, f"WARTA_{name.upper()} is missing from the README settings table"
        default = field.default
        shown = "(empty)" if default == "" else "auto" if default is None else str(default)
        assert f"`{shown}`" in row, f"README shows a wrong default for WARTA_{name.upper()}"


def _commands(group: click.Group, prefix: str = "warta") -> list[str]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix} {name}")
        else:
            found.append(f"{prefix} {name}")
    return found


def test_every_cli_command_is_documented() -> None:
    for command in _commands(main):
        assert command in README, f"`{command}` is not in the README"


def test_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block
