"""The team page: who works in the console for this agency, and with which role."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from warta.api.console.web import AppDep, allowed, page
from warta.domain.staff import ROLES
from warta.errors import ApiError
from warta.services import staff
from warta.services.staff import Member

router = APIRouter()
Admin = Annotated[Member, Depends(allowed("manage_team"))]


async def _team_page(
    request: Request, app: AppDep, me: Member, status: int = 200, **values: object
) -> Response:
    people = await staff.team(app, me.agency_id)
    return page(request, me, "team", status, people=people, roles=ROLES, **values)


@router.get("/team")
async def team(request: Request, app: AppDep, me: Admin, done: str = "") -> Response:
    return await _team_page(request, app, me, done=done)


@router.post("/team")
async def invite(
    request: Request,
    app: AppDep,
    me: Admin,
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "viewer",
    password: Annotated[str, Form()] = "",
) -> Response:
    try:
        await staff.add(app, me.agency_id, email=email, name=name, role=role, password=password)
    except ApiError as exc:
        form = {"email": email, "name": name, "role": role}
        return await _team_page(request, app, me, 400, error=exc, form=form)
    return RedirectResponse("/console/team?done=added", status_code=303)


@router.post("/team/{staff_id}/role")
async def change_role(
    request: Request, app: AppDep, me: Admin, staff_id: uuid.UUID, role: Annotated[str, Form()]
) -> Response:
    try:
        await staff.change_role(app, me, staff_id, role)
    except ApiError as exc:
        return await _team_page(request, app, me, exc.status_code, error=exc)
    return RedirectResponse("/console/team?done=role", status_code=303)


@router.post("/team/{staff_id}/remove")
async def remove(request: Request, app: AppDep, me: Admin, staff_id: uuid.UUID) -> Response:
    try:
        await staff.remove(app, me, staff_id)
    except ApiError as exc:
        return await _team_page(request, app, me, exc.status_code, error=exc)
    return RedirectResponse("/console/team?done=removed", status_code=303)
