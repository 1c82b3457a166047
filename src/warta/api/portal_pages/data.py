"""The citizen's data (UU PDP): download it, delete it."""

from __future__ import annotations

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from warta.api.pages import translate as _t
from warta.api.portal import (
    clear_session_cookie,
)
from warta.api.portal_pages.common import (
    DELETE_WORDS,
    AppDep,
    Citizen,
    SignedForm,
    back,
    page,
    router,
)
from warta.services import citizen_self


@router.get("/data", response_class=HTMLResponse)
async def data(request: Request, app: AppDep, who: Citizen) -> Response:
    return page(request, "data", 200, who, title=_t(request, "My data"))


@router.post("/data/download")
async def download(request: Request, app: AppDep, signed: SignedForm) -> Response:
    who, _ = signed
    body = orjson.dumps(await citizen_self.export(app, who), option=orjson.OPT_INDENT_2)
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="warta-data-saya.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/data/delete", response_class=HTMLResponse)
async def delete(request: Request, app: AppDep, signed: SignedForm) -> Response:
    who, form = signed
    if str(form.get("confirm", "")).strip().upper() not in DELETE_WORDS:
        error = _t(request, "Type the word exactly as shown to delete your data")
        return page(request, "data", 400, who, title=_t(request, "My data"), error=error)
    await citizen_self.erase(app, who)
    response = back("/portal/deleted")
    clear_session_cookie(response, request, app)
    return response


@router.get("/deleted", response_class=HTMLResponse)
async def deleted(request: Request) -> Response:
    return page(request, "deleted", title=_t(request, "Your data was deleted"))
