"""The README and docs/ are the manual: they must name every setting and every command that
exists, the README must stay short and open with the two commands, and no link may be
broken."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

import click

from warta.cli import main
from warta.settings import Settings

ROOT = Path(__file__).parents[2]
README_PATH = ROOT / "README.md"
DOCS = ROOT / "docs"
README = README_PATH.read_text(encoding="utf-8")
README_LIMIT = 15_000  # bytes: what a newcomer reads before the reference pages

#: `[text](target)` outside code; the target ends at the first space or `)`.
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def _doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def test_every_setting_is_documented_with_its_default() -> None:
    table = _doc("settings.md").splitlines()
    for name, field in Settings.model_fields.items():
        variable = f"WARTA_{name.upper()}"
        row = next((line for line in table if line.startswith(f"| `{variable}`")), "")
        assert row, f"{variable} is missing from the docs/settings.md table"
        default = field.default
        shown = "(empty)" if default == "" else "auto" if default is None else str(default)
        assert f"`{shown}`" in row, f"docs/settings.md shows a wrong default for {variable}"


def _commands(group: click.Group, prefix: str = "warta") -> list[str]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix} {name}")
        else:
            found.append(f"{prefix} {name}")
    return found


def test_every_cli_command_is_documented() -> None:
    cli = _doc("cli.md")
    commands = _commands(main)
    assert commands, "warta.cli.main has no commands: the walk found nothing to check"
    for command in commands:
        documented = re.search(rf"(?m)^{re.escape(command)}(?=\s|$)", cli) is not None
        assert documented, f"`{command}` does not start a line of docs/cli.md"


def test_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```")[1]
    for command in ("make run", "make test"):
        assert re.search(rf"(?m)^{command}\b", first_block), (
            f"README's first code block does not start a line with `{command}`"
        )


def test_readme_is_short() -> None:
    size = len(README_PATH.read_bytes())
    assert size <= README_LIMIT, (
        f"README.md is {size:,} bytes (at most {README_LIMIT:,}): move reference to docs/"
    )


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = INLINE_CODE.sub(lambda m: m.group(0).strip("`"), heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {_slug(m.group(1)) for m in re.finditer(r"(?m)^#{1,6}\s+(.+?)\s*#*$", text)}


def broken_links(page: Path) -> list[str]:
    """Every relative link on `page` whose file (or heading anchor) does not exist."""
    text = INLINE_CODE.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            continue  # http:, https:, mailto: ...: not a file in this repository
        path, _, anchor = unquote(target).partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target} (no file {os.path.relpath(linked, ROOT)})")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target} (no heading #{anchor} in {linked.name})")
    return broken


def test_broken_link_finder_finds_broken_links(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("# Here it is\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](there.md) [ok](there.md#here-it-is) [web](https://example.org/x) "
        "[gone](missing.md) [no heading](there.md#nowhere) `[code](ignored.md)`\n",
        encoding="utf-8",
    )
    found = broken_links(page)
    assert len(found) == 2, found
    assert found[0].startswith("missing.md") and found[1].startswith("there.md#nowhere")


def test_every_relative_link_points_to_a_file_that_exists() -> None:
    pages = [README_PATH, *sorted(DOCS.glob("*.md"))]
    assert len(pages) > 1, "docs/ has no pages"
    broken = {str(page.relative_to(ROOT)): links for page in pages if (links := broken_links(page))}
    assert not broken, f"broken links: {broken}"


def test_readme_links_every_docs_page() -> None:
    linked = {Path(target.partition("#")[0]).name for target in LINK.findall(README)}
    missing = sorted(p.name for p in DOCS.glob("*.md") if p.name not in linked)
    assert not missing, f"README.md's 'where to go next' does not link {missing}"
