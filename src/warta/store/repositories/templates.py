"""Templates and their versions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from warta.store.models import (
    Template,
    TemplateVersion,
)
from warta.store.repositories.base import Repository


class TemplateRepository(Repository):
    async def get(self, agency_id: uuid.UUID, template_id: uuid.UUID) -> Template | None:
        template = await self.session.get(Template, template_id)
        if template is None or template.agency_id != agency_id:
            return None
        return template

    async def create(self, template: Template, first: TemplateVersion) -> None:
        self.session.add(template)
        await self.session.flush()  # no ORM relationship orders the version after it
        self.session.add(first)

    async def version(
        self, agency_id: uuid.UUID, template_id: uuid.UUID, version: int
    ) -> tuple[Template, TemplateVersion] | None:
        template = await self.get(agency_id, template_id)
        if template is None:
            return None
        found = await self.session.get(TemplateVersion, (template_id, version))
        return None if found is None else (template, found)

    async def versions(self, template_id: uuid.UUID) -> list[TemplateVersion]:
        """Every version of the template, newest first."""
        query = (
            select(TemplateVersion)
            .where(TemplateVersion.template_id == template_id)
            .order_by(TemplateVersion.version.desc())
        )
        return list((await self.session.scalars(query)).all())

    async def names(self, template_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Each template's name, archived ones too: a notification keeps the name it was
        sent with."""
        if not template_ids:
            return {}
        query = select(Template.id, Template.name).where(Template.id.in_(list(template_ids)))
        return {i: name for i, name in (await self.session.execute(query)).all()}

    async def for_agency(
        self, agency_id: uuid.UUID, template_type: str | None
    ) -> Sequence[Template]:
        query = select(Template).where(Template.agency_id == agency_id, ~Template.archived)
        if template_type:
            query = query.where(Template.type == template_type)
        return (await self.session.scalars(query.order_by(Template.name))).all()

    async def system(self, agency_id: uuid.UUID, name: str, kind: str) -> Template | None:
        """One of Warta's own (archived) templates for this agency, by name and type."""
        query = select(Template).where(
            Template.agency_id == agency_id,
            Template.name == name,
            Template.type == kind,
            Template.archived,
        )
        return await self.session.scalar(query.limit(1))
