"""Citizen cases: the services an agency takes cases for, its days off, the templates that
tell citizens of each step, and Open311 reporting apps' keys."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from warta.cli.common import emit, run

KINDS = ("laporan", "pengaduan", "permohonan")


@click.group()
def service() -> None:
    """Case services (Open311's services): what citizens can report or apply for."""


@service.command("create")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option("--code", required=True, help="Unique across Warta: Open311's service_code.")
@click.option("--name", required=True, help='What citizens see: "Jalan rusak", "KTP-el".')
@click.option("--group", default="", help='Open311 group: "Jalan dan jembatan".')
@click.option("--keywords", default="", help='Comma-separated: "jalan,lubang,aspal".')
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    default="laporan",
    show_default=True,
    help="laporan: a report about a public place (its location and description are "
    "public); pengaduan: a complaint; permohonan: an application. Only a laporan shows "
    "where it is and what it says on public pages and in Open311.",
)
@click.option("--description", default="", help="A sentence on what the service is for.")
@click.option(
    "--attributes-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="JSON file: Open311 attribute definitions, "
    '[{"code": "kedalaman", "datatype": "number", "required": true, …}].',
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def service_create(
    agency_id: uuid.UUID,
    code: str,
    name: str,
    group: str,
    keywords: str,
    kind: str,
    description: str,
    attributes_file: Path | None,
    as_json: bool,
) -> None:
    """Create a service an agency takes cases for."""
    from warta.domain.open311 import keywords as split_keywords
    from warta.services.cases import catalogue

    attributes: Any = ()
    if attributes_file is not None:
        try:
            attributes = json.loads(attributes_file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise click.UsageError(f"--attributes-file: not a JSON file ({exc})") from exc
        if not isinstance(attributes, list):
            raise click.UsageError("--attributes-file: must hold a JSON list of definitions")
    made = run(
        lambda app: catalogue.create_service(
            app,
            agency_id,
            code,
            name,
            group=group,
            keywords=split_keywords(keywords),
            kind=kind,
            description=description,
            attributes=attributes,
        )
    )
    data = present(made)
    emit(data, as_json, f"{data['code']}  {data['name']}  ({data['kind']}, {data['agency_name']})")


@service.command("list")
@click.option("--agency", "agency_id", type=click.UUID, default=None, help="Only this agency's.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def service_list(agency_id: uuid.UUID | None, as_json: bool) -> None:
    """List the active services."""
    from warta.services.cases import catalogue

    rows = [present(s) for s in run(lambda app: catalogue.services(app, agency_id))]
    emit(rows, as_json, "\n".join(f"{r['code']:<20} {r['kind']:<10} {r['name']}" for r in rows))


@service.command("message")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option(
    "--status",
    required=True,
    help="A case status (received, in_progress, resolved, …), update (a public update) or "
    "breach (the supervisors' email).",
)
@click.option("--language", type=click.Choice(["id", "en"]), default="id", show_default=True)
@click.option(
    "--template",
    "template_id",
    type=click.UUID,
    required=True,
    help="One of the agency's multi templates (an email template for breach).",
)
@click.option("--code", default=None, help="Only for this service; default: all of them.")
def service_message(
    agency_id: uuid.UUID, status: str, language: str, template_id: uuid.UUID, code: str | None
) -> None:
    """Choose the template that tells citizens of a step (docs/cases.md)."""
    from warta.services.cases import catalogue

    run(lambda app: catalogue.use_message(app, agency_id, status, language, template_id, code))
    click.echo(f"{status} ({language}) now uses template {template_id}")


@service.group("day-off")
def day_off() -> None:
    """The agency's own days off (cuti bersama, regional holidays): deadlines skip them."""


@day_off.command("add")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--reason", default="", help='"Cuti bersama Natal".')
def day_off_add(agency_id: uuid.UUID, day: datetime, reason: str) -> None:
    """Add a day off; deadlines set from now on skip it."""
    from warta.services.cases import catalogue

    run(lambda app: catalogue.set_day_off(app, agency_id, day.date(), reason))
    click.echo(f"{day.date().isoformat()} is a day off")


@day_off.command("remove")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True)
def day_off_remove(agency_id: uuid.UUID, day: datetime) -> None:
    """Remove a day off."""
    from warta.services.cases import catalogue

    run(lambda app: catalogue.drop_day_off(app, agency_id, day.date()))
    click.echo(f"{day.date().isoformat()} is a working day again (unless a national holiday)")


@day_off.command("list")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def day_off_list(agency_id: uuid.UUID, as_json: bool) -> None:
    """The agency's days off, oldest first."""
    from warta.services.cases import catalogue

    days = [d.isoformat() for d in run(lambda app: catalogue.days_off(app, agency_id))]
    emit(days, as_json, "\n".join(days))


def present(made: Any) -> dict[str, Any]:
    return {
        "id": str(made.id),
        "agency_id": str(made.agency_id),
        "agency_name": made.agency_name,
        "code": made.code,
        "name": made.name,
        "group": made.group,
        "keywords": list(made.keywords),
        "kind": made.kind,
        "description": made.description,
        "attributes": made.attributes,
    }


@click.group()
def open311() -> None:
    """Open311 GeoReport v2 (/open311/v2/): the reporting apps that file cases."""


@open311.group("key")
def open311_key() -> None:
    """The api_key a reporting app (FixMyStreet, a city's app) files requests with."""


@open311_key.command("create")
@click.option("--name", required=True, help="The app it is for: FixMyStreet Bandung.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def open311_key_create(name: str, as_json: bool) -> None:
    """Create a key. The key string is shown once."""
    from warta.services.cases import open311_keys

    key_id, api_key = run(lambda app: open311_keys.create(app, name))
    emit({"id": str(key_id), "name": name.strip(), "api_key": api_key}, as_json, api_key)
