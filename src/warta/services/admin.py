"""Agency administration: agencies, API keys, guest lists, callbacks, templates.

Used by the CLI today and by the agency console later; each handler is one transaction.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from warta.deps import Warta
from warta.domain import recipients
from warta.errors import BadRequest, InvalidInput, NotFound
from warta.security.apikeys import KEY_TYPES, key_string, new_secret
from warta.services.sending import MULTI, PLATFORM_SMS_SENDER
from warta.store.models import Agency, ApiKey, GuestListEntry, Template, TemplateVersion
from warta.store.uow import UnitOfWork


@dataclass(frozen=True)
class NewAgency:
    id: uuid.UUID
    live_key: str
    team_key: str
    test_key: str


async def create_agency(
    app: Warta, name: str, *, email_from: str | None = None, sms_sender: str | None = None
) -> NewAgency:
    name = name.strip()
    if not name:
        raise BadRequest("An agency needs a name")
    if email_from:
        email_from = recipients.validate_email(email_from)
    sender_key = _sender_key(sms_sender)
    now = app.clock()
    agency = Agency(
        id=uuid.uuid4(),
        name=name,
        email_from=email_from,
        sms_sender=sms_sender,
        sms_sender_key=sender_key,
        rate_limit=app.settings.rate_limit_per_minute,
        message_limit=app.settings.daily_message_limit,
        created_at=now,
    )
    async with app.uow() as uow:
        if await uow.agencies.by_name(name) is not None:
            raise BadRequest("An agency called %(name)s already exists", name=repr(name))
        if sender_key is not None and await uow.agencies.by_sms_sender(sender_key) is not None:
            raise BadRequest(
                "The SMS sender id %(sender)s is already another agency's", sender=sender_key
            )
        names = {"normal": "live key", "team": "team key", "test": "test key"}
        keys = {t: _new_key(app, agency, name, t) for t, name in names.items()}
        await uow.agencies.create(agency, (row for row, _ in keys.values()))
        await uow.commit()
    return NewAgency(agency.id, keys["normal"][1], keys["team"][1], keys["test"][1])


def _sender_key(sms_sender: str | None) -> str | None:
    """The sender id as compared (upper case): one agency each, and never the platform's,
    which every agency without one shares (and whose replies Warta routes itself)."""
    if sms_sender is None:
        return None
    if not (sms_sender.isalnum() and sms_sender.isascii() and 3 <= len(sms_sender) <= 11):
        raise BadRequest("An SMS sender id is 3 to 11 letters or digits")
    key = sms_sender.upper()
    if key == PLATFORM_SMS_SENDER.upper():
        raise BadRequest("The SMS sender id %(sender)s is Warta's own", sender=key)
    return key


def _new_key(app: Warta, agency: Agency, name: str, key_type: str) -> tuple[ApiKey, str]:
    if key_type not in KEY_TYPES:
        raise BadRequest("Key type must be one of %(types)s", types=", ".join(KEY_TYPES))
    secret = new_secret()
    row = ApiKey(
        id=uuid.uuid4(),
        agency_id=agency.id,
        name=name,
        key_type=key_type,
        secret_enc=app.keyring.encrypt(secret, field="api_key.secret"),
        created_at=app.clock(),
    )
    return row, key_string(name, agency.id, secret)


async def _agency(uow: UnitOfWork, agency_id: uuid.UUID) -> Agency:
    agency = await uow.agencies.get(agency_id)
    if agency is None:
        raise NotFound("No agency with id %(agency_id)s", agency_id=agency_id)
    return agency


async def create_key(
    app: Warta, agency_id: uuid.UUID, name: str, key_type: str
) -> tuple[ApiKey, str]:
    name = name.strip()
    if not name:
        raise BadRequest("An API key needs a name")
    if len(name) > 255:
        raise BadRequest("An API key name is at most 255 characters")
    async with app.uow() as uow:
        agency = await _agency(uow, agency_id)
        row, key = _new_key(app, agency, name, key_type)
        uow.agencies.add(row)
        await uow.commit()
    await app.caches.agencies.drop(agency_id)
    return row, key


async def list_keys(app: Warta, agency_id: uuid.UUID) -> list[ApiKey]:
    async with app.uow() as uow:
        await _agency(uow, agency_id)
        return list(await uow.agencies.keys(agency_id))


async def revoke_key(
    app: Warta, key_id: uuid.UUID, *, agency_id: uuid.UUID | None = None
) -> ApiKey:
    """Revoke a key; with ``agency_id`` (the console), another agency's key is not found."""
    async with app.uow() as uow:
        key = await uow.agencies.key(key_id)
        if key is None or (agency_id is not None and key.agency_id != agency_id):
            raise NotFound("No API key with id %(key_id)s", key_id=key_id)
        if key.revoked_at is None:
            key.revoked_at = app.clock()
        await uow.commit()
    await app.caches.agencies.drop(key.agency_id)
    return key


async def add_to_guest_list(app: Warta, agency_id: uuid.UUID, recipient: str) -> None:
    """Team keys may send to these: a phone number or an email address."""
    try:
        kind, value = "email", recipients.validate_email(recipient)
    except InvalidInput:
        kind, value = "sms", recipients.normalise_phone(recipient)
    async with app.uow() as uow:
        await _agency(uow, agency_id)
        uow.agencies.add(
            GuestListEntry(
                id=uuid.uuid4(),
                agency_id=agency_id,
                recipient_type=kind,
                recipient_enc=app.keyring.encrypt(value, field="guest_list.recipient"),
                recipient_hash=app.keyring.lookup_hash(value),
                created_at=app.clock(),
            )
        )
        await uow.commit()


async def set_callback(
    app: Warta,
    agency_id: uuid.UUID,
    url: str | None,
    token: str | None,
    *,
    inbound: bool = False,
) -> None:
    """Set or remove (``url`` None) the delivery-receipt callback, or with ``inbound`` the
    one for texts citizens send to the agency."""
    if url and (not url.startswith(("https://", "http://")) or not urlsplit(url).hostname):
        raise BadRequest("A callback URL must start with https:// (or http:// for local tests)")
    if url and len(url) > 2000:
        raise BadRequest("A callback URL is at most 2000 characters")
    if url and (not token or len(token) < 10):
        raise BadRequest("A callback needs a bearer token of at least 10 characters")
    async with app.uow() as uow:
        agency = await _agency(uow, agency_id)
        token_enc = (
            app.keyring.encrypt(token, field="agency.callback_token") if url and token else None
        )
        if inbound:
            agency.inbound_callback_url, agency.inbound_callback_token_enc = url or None, token_enc
        else:
            agency.callback_url, agency.callback_token_enc = url or None, token_enc
        await uow.commit()
    await app.caches.agencies.drop(agency_id)


@dataclass(frozen=True)
class CallbackSetting:
    """What a page may show of a callback: the URL, and only the token's last 4 characters."""

    url: str | None
    token_end: str | None


async def callbacks(app: Warta, agency_id: uuid.UUID) -> dict[str, CallbackSetting]:
    """The agency's delivery-receipt (``receipts``) and ``inbound`` callbacks."""
    async with app.uow() as uow:
        agency = await _agency(uow, agency_id)
    pairs = {
        "receipts": (agency.callback_url, agency.callback_token_enc),
        "inbound": (agency.inbound_callback_url, agency.inbound_callback_token_enc),
    }
    return {
        kind: CallbackSetting(
            url, app.keyring.decrypt(enc, field="agency.callback_token")[-4:] if enc else None
        )
        for kind, (url, enc) in pairs.items()
    }


def _check_template(
    kind: str, name: str, subject: str | None, body: str, sms_body: str | None = None
) -> None:
    if kind not in ("email", "sms", MULTI):
        raise BadRequest("Template type must be email, sms or multi")
    if not name.strip():
        raise BadRequest("A template needs a name")
    if kind == MULTI:
        if not body.strip() and not (sms_body or "").strip():
            raise BadRequest("A multi-channel template needs an email body, an SMS body or both")
        if body.strip() and not (subject or "").strip():
            raise BadRequest("A multi-channel template with an email body needs a subject")
        return
    if sms_body is not None:
        raise BadRequest("Only a multi-channel template has a separate SMS body")
    if not body.strip():
        raise BadRequest("A template needs a body")
    if kind == "email" and not (subject or "").strip():
        raise BadRequest("An email template needs a subject")
    if kind == "sms" and subject:
        raise BadRequest("An SMS template has no subject")


def _channel_bodies(kind: str, sms_body: str | None) -> str | None:
    if kind != MULTI or not (sms_body or "").strip():
        return None
    return json.dumps({"sms": sms_body}, ensure_ascii=False)


async def create_template(
    app: Warta,
    agency_id: uuid.UUID,
    *,
    kind: str,
    name: str,
    subject: str | None,
    body: str,
    sms_body: str | None = None,
) -> Template:
    """A template; ``multi`` holds an email part (subject, body) and an SMS part
    (``sms_body``), either optional, for sends to citizens routed by preference."""
    template = new_template(
        app, agency_id, kind=kind, name=name, subject=subject, body=body, sms_body=sms_body
    )
    async with app.uow() as uow:
        await _agency(uow, agency_id)
        await uow.templates.create(template, _version_of(template))
        await uow.commit()
    return template


def new_template(
    app: Warta,
    agency_id: uuid.UUID,
    *,
    kind: str,
    name: str,
    subject: str | None,
    body: str,
    sms_body: str | None = None,
) -> Template:
    """A checked template row, not yet stored (``store_template`` in the caller's unit
    of work, or ``create_template``)."""
    _check_template(kind, name, subject, body, sms_body)
    return Template(
        id=uuid.uuid4(),
        agency_id=agency_id,
        name=name.strip(),
        type=kind,
        subject=subject,
        body=body,
        channel_bodies=_channel_bodies(kind, sms_body),
        version=1,
        archived=False,
        created_at=app.clock(),
        updated_at=None,
    )


async def store_template(uow: UnitOfWork, template: Template) -> None:
    await uow.templates.create(template, _version_of(template))


async def update_template(
    app: Warta,
    agency_id: uuid.UUID,
    template_id: uuid.UUID,
    *,
    name: str | None = None,
    subject: str | None = None,
    body: str | None = None,
    sms_body: str | None = None,
) -> Template:
    """An edit makes a new version; old versions stay readable and sent rows keep theirs."""
    async with app.uow() as uow:
        template = await uow.templates.get(agency_id, template_id)
        if template is None:
            raise NotFound("No template with id %(template_id)s", template_id=template_id)
        new_name = template.name if name is None else name
        new_subject = template.subject if subject is None else subject
        new_body = template.body if body is None else body
        old_sms = json.loads(template.channel_bodies or "{}").get("sms")
        new_sms = old_sms if sms_body is None else sms_body
        _check_template(template.type, new_name, new_subject, new_body, new_sms)
        template.name, template.subject, template.body = new_name.strip(), new_subject, new_body
        template.channel_bodies = _channel_bodies(template.type, new_sms)
        template.version += 1
        template.updated_at = app.clock()
        uow.templates.add(_version_of(template))
        await uow.commit()
    await app.caches.templates.drop(template_id)
    return template


def _version_of(template: Template) -> TemplateVersion:
    return TemplateVersion(
        template_id=template.id,
        version=template.version,
        name=template.name,
        subject=template.subject,
        body=template.body,
        channel_bodies=template.channel_bodies,
        created_at=template.updated_at or template.created_at,
    )
