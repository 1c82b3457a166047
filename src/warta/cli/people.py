"""People: console staff, and citizens imported from a CSV file or erased again."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import click

from warta.cli.common import emit, run
from warta.deps import Warta


@click.group()
def staff() -> None:
    """People who sign in to the agency console (/console)."""


@staff.command("add")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "editor", "sender", "viewer"]), required=True)
@click.password_option(help="First password (asked for when not given).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def staff_add(
    agency_id: uuid.UUID, email: str, name: str, role: str, password: str, as_json: bool
) -> None:
    """Add a person; they set up two-step verification at their first sign-in."""
    from warta.services import staff as people

    member = run(
        lambda app: people.add(app, agency_id, email=email, name=name, role=role, password=password)
    )
    info = {"id": str(member.id), "email": member.email, "role": member.role}
    emit(info, as_json, f"added {member.email} as {member.role}")


@staff.command("list")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def staff_list(agency_id: uuid.UUID, as_json: bool) -> None:
    """The agency's team."""
    from warta.services import staff as people

    members = run(lambda app: people.team(app, agency_id))
    rows = [{"id": str(m.id), "email": m.email, "name": m.name, "role": m.role} for m in members]
    emit(rows, as_json, "\n".join(f"{m.role:>7}  {m.email}  {m.name}" for m in members))


@staff.command("reset")
@click.option("--email", required=True)
@click.password_option(help="New password (asked for when not given).")
@click.option("--totp/--keep-totp", "reset_totp", default=False, help="Also set up TOTP again.")
def staff_reset(email: str, password: str, reset_totp: bool) -> None:
    """A new password (and the lock lifted): for someone who forgot theirs."""
    from warta.services import staff as people

    run(lambda app: people.reset_password(app, email, password, reset_totp=reset_totp))
    click.echo("reset: their sessions have ended")


@click.group()
def citizen() -> None:
    """The citizen registry."""


@citizen.command("import")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--trust-contacts",
    is_flag=True,
    help="The agency verified these phones and emails itself: usable without a code.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write every row's outcome to this CSV (line, outcome, message, citizen_id).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def citizen_import(
    agency_id: uuid.UUID, csv_file: Path, trust_contacts: bool, report: Path | None, as_json: bool
) -> None:
    """Register citizens from a CSV (nik, name, region_code; optional phone, email,
    time_zone, language, channels as sms;email). Each row is checked on its own: bad rows
    are reported by line and the rest are imported. Exits 1 if any row failed."""
    from warta.services.citizens import CitizenImport, ImportSummary, read_csv

    source = read_csv(csv_file)
    if not source.rows:
        click.echo("error: the CSV has no rows", err=True)
        sys.exit(1)

    async def work(app: Warta) -> ImportSummary:
        job = await CitizenImport.prepare(app, agency_id, source, trust_contacts=trust_contacts)
        with click.progressbar(
            length=len(source.rows), label="Importing citizens", file=sys.stderr, show_pos=True
        ) as bar:
            return await job.run(lambda _: bar.update(1))

    summary = run(work)
    if report is not None:
        summary.write_report(report)
    counts = summary.counts()
    if as_json:
        errors = [{"line": r.line, "message": r.message} for r in summary.errors]
        click.echo(json.dumps({**counts, "errors": errors}, indent=2))
    else:
        click.echo(
            f"{counts['created']} created, {counts['linked']} linked, {counts['error']} refused"
        )
        for r in summary.errors:
            click.echo(f"line {r.line}: {r.message}")
    if summary.errors:
        sys.exit(1)


@citizen.command("erase")
@click.argument("citizen_ids", nargs=-1, required=True, type=click.UUID)
def citizen_erase(citizen_ids: tuple[uuid.UUID, ...]) -> None:
    """Erase citizens as their "Delete my data" does. After restoring a backup: the ids
    the log names as erased since it was taken. Ids no longer registered are skipped."""
    from warta.services.citizens import erasure

    erased = run(lambda app: erasure.erase_again(app, citizen_ids))
    click.echo(f"{erased} erased, {len(citizen_ids) - erased} already gone")
