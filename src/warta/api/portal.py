"""The citizen portal's JSON API: sign-in by one-time code, the inbox and its live events.

Citizens, not agencies: a session (``warta_session`` cookie, or ``Authorization: Bearer``
with the same token) instead of an agency JWT, kept server-side: sign-out ends it. Errors
keep Notify's body, so one client reads both APIs. The cookie is HttpOnly and
SameSite=Lax, which keeps other sites' pages from posting with it; Secure whenever the
request (or the public URL) is https. Trading a code for a session takes a JSON body
with its content type, which another site's page cannot send without CORS (login CSRF).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Request
from fastapi.responses import Response
from pydantic import Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from warta.api.auth import warta
from warta.api.pages import client_address, is_https
from warta.api.responses import JsonResponse
from warta.api.schemas import Strict
from warta.deps import Warta
from warta.domain.timefmt import notify_time
from warta.errors import AuthError, ValidationFailed
from warta.services import chat, devices, portal, portal_sessions

router = APIRouter(prefix="/portal/api", tags=["Citizen portal (Warta extension)"])
AppDep = Annotated[Warta, Depends(warta)]
COOKIE = "warta_session"
COOKIE_PATH = "/portal"
KEEP_ALIVE = 15  # seconds between comment lines, so proxies keep an idle stream open
#: How far back a reconnecting stream may ask to resume.
RESUME_LIMIT = timedelta(days=1)
JSON = "application/json"


class SignInIn(Strict):
    contact: str = Field(description="A phone number or an email address.")


class VerifyIn(Strict):
    challenge: str
    code: str


class ReadIn(Strict):
    id: uuid.UUID = Field(description="The message's id, or any attempt's (a push's id).")


def session_token(request: Request) -> str:
    """The bearer token, or else the session cookie ("" for neither)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        token = request.cookies.get(COOKIE, "")
    return token.strip()


async def citizen(request: Request, app: AppDep) -> uuid.UUID:
    """The signed-in citizen, from the bearer token or else the cookie; 401 without, or
    once the session ended (signed out, expired, or the citizen erased their data)."""
    token = session_token(request)
    if not token:
        raise AuthError("Sign in first: this needs a session", 401)
    found = await portal_sessions.citizen_of(app, token)
    if found is None:
        raise AuthError("The session is not valid or has ended: sign in again", 401)
    return found


CitizenDep = Annotated[uuid.UUID, Depends(citizen)]


def _secure(request: Request, app: Warta) -> bool:
    return is_https(request, app.settings.public_url)


@router.post("/sign-in", summary="Send a one-time code to a verified phone or address")
async def sign_in(
    body: SignInIn, request: Request, app: AppDep, background: BackgroundTasks
) -> JsonResponse:
    started = await portal.sign_in(app, body.contact, client_address(request))
    # After the answer, for every contact alike (nothing goes for most): a registered
    # contact must not answer slower than a stranger, or than one over its limits.
    background.add_task(portal.send_code, app, started.code)
    return JsonResponse({"challenge": started.challenge})


@router.post("/sign-in/verify", summary="Trade the code for a session")
async def verify(body: VerifyIn, request: Request, app: AppDep) -> JsonResponse:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != JSON:
        # A body with no type is read as JSON too, and another site may send one.
        raise ValidationFailed("Send the code as JSON (Content-Type: application/json)")
    session = await portal.verify(app, body.challenge, body.code)
    response = JsonResponse({"token": session.token, "expires_at": notify_time(session.expires_at)})
    set_session_cookie(response, request, app, session)
    return response


def set_session_cookie(
    response: Response, request: Request, app: Warta, session: portal_sessions.Session
) -> None:
    response.set_cookie(
        COOKIE,
        session.token,
        max_age=int(portal_sessions.SESSION_TTL.total_seconds()),
        path=COOKIE_PATH,
        secure=_secure(request, app),
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, request: Request, app: Warta) -> None:
    response.delete_cookie(
        COOKIE, path=COOKIE_PATH, secure=_secure(request, app), httponly=True, samesite="lax"
    )


@router.post("/sign-out", status_code=204, summary="End the session")
async def sign_out(request: Request, app: AppDep, _who: CitizenDep) -> Response:
    """The session (bearer or cookie) ends at once: the token opens nothing any more. No
    session: 401, and no cookie is touched (another site's form carries none)."""
    await portal_sessions.end_session(app, session_token(request))
    response = Response(status_code=204)
    clear_session_cookie(response, request, app)
    return response


def _shown(message: portal.InboxMessage) -> dict[str, Any]:
    return {
        "id": str(message.id),
        "agency": message.agency,
        "subject": message.subject,
        "body": message.body,
        "channel": message.channel,
        "status": message.status,
        "created_at": notify_time(message.created_at),
        "seen_at": notify_time(message.seen_at),
        "read_at": notify_time(message.read_at),
    }


@router.get("/inbox", summary="The citizen's messages, newest first, 20 a page")
async def inbox(
    app: AppDep, who: CitizenDep, older_than: Annotated[str | None, Query()] = None
) -> JsonResponse:
    anchor = None
    if older_than is not None:
        try:
            anchor = uuid.UUID(older_than)
        except ValueError as exc:
            raise ValidationFailed("older_than is not a valid UUID") from exc
    messages = await portal.page(app, who, anchor)
    links = {}
    if len(messages) == portal.PAGE_SIZE:
        links["next"] = f"{router.prefix}/inbox?older_than={messages[-1].id}"
    return JsonResponse({"messages": [_shown(m) for m in messages], "links": links})


@router.get(
    "/inbox/events",
    summary="Server-Sent Events: new and read messages",
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(
    app: AppDep,
    who: CitizenDep,
    poll: Annotated[float, Query(ge=0.5, le=60)] = 2.0,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    since = _resume(app, last_event_id)
    return EventSourceResponse(_stream(app, who, since, poll), ping=KEEP_ALIVE)


def _resume(app: Warta, last_event_id: str | None) -> datetime:
    """Where to start: just after the ``Last-Event-ID`` a reconnecting browser sends
    (looking back the overlap, so a few events may come twice: the page keys by id), or
    now for a new stream."""
    now = app.clock()
    try:
        resumed = datetime.fromisoformat(last_event_id or "")
    except ValueError:
        return now
    if resumed.tzinfo is None:
        return now
    return min(now, max(now - RESUME_LIMIT, resumed - portal.EVENT_OVERLAP))


async def _stream(
    app: Warta, who: uuid.UUID, since: datetime, poll: float
) -> AsyncIterator[ServerSentEvent]:
    """Poll the database, not an in-process signal: a message may be made, sent or read
    by another process or host (API and worker hosts share only the database), and a
    poll sees them all alike. Each poll looks back ``EVENT_OVERLAP`` for rows stamped
    before the last poll but committed after it, and skips what it already announced."""
    announced: dict[tuple[str, uuid.UUID], datetime] = {}
    cursor = since
    while True:
        now = app.clock()
        lower = max(since, cursor - portal.EVENT_OVERLAP)
        for kind, at, message in await portal.changes(app, who, lower):
            if (kind, message.id) in announced:
                continue
            announced[(kind, message.id)] = at
            data = orjson.dumps(_shown(message)).decode()
            yield ServerSentEvent(data=data, event=kind, id=now.isoformat())
        cursor = now
        announced = {k: at for k, at in announced.items() if at > now - portal.EVENT_OVERLAP}
        await asyncio.sleep(poll)


@router.get("/inbox/{message_id}", summary="One message")
async def message(message_id: str, app: AppDep, who: CitizenDep) -> JsonResponse:
    return JsonResponse(_shown(await portal.get(app, who, _uuid(message_id))))


@router.post("/inbox/read", summary="Mark a message read (it stops escalating)")
async def read(body: ReadIn, app: AppDep, who: CitizenDep) -> JsonResponse:
    return JsonResponse(_shown(await portal.mark_read(app, who, body.id)))


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise ValidationFailed("message_id is not a valid UUID") from exc


# -- the citizen's devices: push and chat -----------------------------------------------


class SubscriptionIn(Strict):
    endpoint: str
    keys: dict[str, str]
    expirationTime: float | None = None


@router.get("/push/key", summary="The applicationServerKey to subscribe with (VAPID)")
async def push_key(app: AppDep) -> JsonResponse:
    if app.vapid_public_key is None:
        raise ValidationFailed("Web Push is not set up on this Warta")
    return JsonResponse({"public_key": app.vapid_public_key})


@router.post("/push/subscriptions", status_code=201, summary="This device's push subscription")
async def push_subscribe(body: SubscriptionIn, app: AppDep, who: CitizenDep) -> JsonResponse:
    contact = await devices.add_push_subscription(app, who, body.model_dump())
    return JsonResponse({"contact_id": str(contact)}, status_code=201)


class FcmTokenIn(Strict):
    token: str = Field(description="The app's FCM registration token.")


@router.post("/push/fcm-tokens", status_code=201, summary="The official app's FCM token")
async def fcm_token(body: FcmTokenIn, app: AppDep, who: CitizenDep) -> JsonResponse:
    contact = await devices.add_fcm_token(app, who, body.token)
    return JsonResponse({"contact_id": str(contact)}, status_code=201)


@router.post("/telegram/link", summary="A one-time t.me link that links a Telegram chat")
async def telegram_link(app: AppDep, who: CitizenDep) -> JsonResponse:
    return JsonResponse({"url": await chat.telegram_link(app, who)})
