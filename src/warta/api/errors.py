"""Every error leaves the API in Notify's body: {"status_code", "errors": [{error, message}]}.

Except on pages people read (the console, the portal's pages): there the same errors
come as an HTML page in the person's language.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from warta.api.pages import error_text, render, translate
from warta.api.responses import JsonResponse
from warta.errors import ApiError, InvalidInput, StoreUnavailable

#: Seconds a client is asked to wait (``Retry-After``) while the database is unavailable.
RETRY_AFTER = 30


def error_body(status_code: int, errors: list[tuple[str, str]]) -> JsonResponse:
    return JsonResponse(
        {"status_code": status_code, "errors": [{"error": e, "message": m} for e, m in errors]},
        status_code=status_code,
    )


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "request"


def validation_message(error: dict[str, Any]) -> str:
    """Pydantic's errors in the words of Notify's JSON-schema errors."""
    name, kind = _field(error["loc"]), error["type"]
    if kind in ("text_not_unicode", "value_refused"):  # Strict's own, already worded
        return str(error["msg"])
    if kind == "missing":
        return f"{name} is a required property"
    if kind in ("uuid_parsing", "uuid_type"):
        return f"{name} is not a valid UUID"
    if kind == "extra_forbidden":
        return f"Additional properties are not allowed ({name} was unexpected)"
    if kind in ("json_invalid", "model_attributes_type") or name == "request":
        return "Invalid JSON supplied in POST data"
    if kind == "dict_type":
        return f"{name} {error.get('input')!r} is not of type object"
    if kind == "string_type":
        return f"{name} {error.get('input')!r} is not of type string"
    return f"{name} {error['msg']}"


def _is_page(request: Request) -> bool:
    """The console and the portal's pages answer people, in HTML; the rest answers code."""
    path = request.url.path
    return path.startswith("/console") or (
        path.startswith("/portal") and not path.startswith("/portal/api")
    )


def problem_page(request: Request, status: int, message: str) -> HTMLResponse:
    home = "/console/" if request.url.path.startswith("/console") else "/portal/"
    return render(request, "problem.html", status, code=status, message=message, home=home)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        if _is_page(request):
            return problem_page(request, exc.status_code, error_text(request, exc))
        return error_body(exc.status_code, [(exc.error, exc.message)])

    @app.exception_handler(InvalidInput)
    async def invalid_input(request: Request, exc: InvalidInput) -> Response:
        if _is_page(request):
            return problem_page(request, 400, error_text(request, exc))
        return error_body(400, [("BadRequestError", str(exc))])

    @app.exception_handler(StoreUnavailable)
    async def store_unavailable(request: Request, exc: StoreUnavailable) -> Response:
        # Nothing was stored: the client may send the same request again later.
        if _is_page(request):
            response: Response = problem_page(request, 503, translate(request, str(exc)))
        else:
            response = error_body(exc.status_code, [(exc.error, str(exc))])
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        messages = list(dict.fromkeys(validation_message(e) for e in exc.errors()))
        if _is_page(request):
            return problem_page(request, 400, "; ".join(translate(request, m) for m in messages))
        return error_body(400, [("ValidationError", m) for m in messages])

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _is_page(request):
            return problem_page(request, exc.status_code, translate(request, str(exc.detail)))
        if exc.status_code == 404:
            return error_body(404, [("NoResultFound", "No result found")])
        if exc.status_code == 405:
            refused = error_body(
                405, [("MethodNotAllowed", "The method is not allowed for the requested URL.")]
            )
            refused.headers.update(exc.headers or {})  # Allow: what the route takes (RFC 9110)
            return refused
        return error_body(exc.status_code, [("BadRequestError", str(exc.detail))])

    # Starlette re-raises after this handler so the server logs the traceback once.
    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        if _is_page(request):
            return problem_page(request, 500, "Something went wrong on our side")
        return error_body(500, [("Exception", "Internal server error")])
