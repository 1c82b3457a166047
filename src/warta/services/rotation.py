"""Master-key rotation: re-encrypt every personal field and recompute every lookup hash
(and re-seal the case photos on disk).

With a key file, a new key is made and the old one kept as "previous" until every row is
re-encrypted, then dropped. With ``WARTA_SECRET_KEY``, the operator sets the new key and
lists the old one in ``WARTA_PREVIOUS_SECRET_KEYS``; after this runs the old one can go.
Run it with the API stopped (or restart the API after): a process still holding only the
old key cannot read what this writes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from warta.deps import Warta
from warta.security.crypto import Keyring, decode_master_key, new_master_key, write_key_file
from warta.services.cases import photos
from warta.settings import Settings
from warta.store.models import (
    Agency,
    ApiKey,
    Base,
    Broadcast,
    Case,
    CaseEvent,
    Citizen,
    CitizenContact,
    Conversation,
    ConversationMessage,
    DkimKey,
    GuestListEntry,
    Notification,
    PlatformSecret,
    ReceivedText,
    Staff,
)

# (table, [(ciphertext column, field name used as associated data, hash column or None)])
ENCRYPTED: list[tuple[type[Base], list[tuple[str, str, str | None]]]] = [
    (
        Agency,
        [
            ("callback_token_enc", "agency.callback_token", None),
            ("inbound_callback_token_enc", "agency.callback_token", None),
        ],
    ),
    (ApiKey, [("secret_enc", "api_key.secret", None)]),
    (GuestListEntry, [("recipient_enc", "guest_list.recipient", "recipient_hash")]),
    (
        Notification,
        [
            ("recipient_enc", "notification.recipient", "recipient_hash"),
            ("content_enc", "notification.content", None),
            ("alternatives_enc", "notification.alternatives", None),
        ],
    ),
    (
        Citizen,
        [("nik_enc", "citizen.nik", "nik_hash"), ("name_enc", "citizen.name", None)],
    ),
    (CitizenContact, [("value_enc", "contact.value", "value_hash")]),
    (Broadcast, [("content_enc", "broadcast.content", None)]),
    (
        ReceivedText,
        [
            ("user_number_enc", "received.user_number", "user_number_hash"),
            ("content_enc", "received.content", None),
        ],
    ),
    (PlatformSecret, [("value_enc", "platform.secret", None)]),
    (DkimKey, [("private_key_enc", "dkim.private_key", None)]),
    (
        Staff,
        [
            ("email_enc", "staff.email", "email_hash"),
            ("name_enc", "staff.name", None),
            ("totp_secret_enc", "staff.totp", None),
        ],
    ),
    (
        Case,
        [
            ("description_enc", "case.description", None),
            ("reporter_enc", "case.reporter", None),
            ("location_enc", "case.location", None),
            ("attributes_enc", "case.attributes", None),
        ],
    ),
    (
        CaseEvent,
        [
            ("public_message_enc", "case.public_message", None),
            ("internal_note_enc", "case.internal_note", None),
        ],
    ),
    (
        Conversation,
        [
            ("address_enc", "conversation.address", "address_hash"),
            ("state_enc", "conversation.state", None),
        ],
    ),
    (ConversationMessage, [("text_enc", "conversation.text", None)]),
]
BATCH = 500


async def rotate(app: Warta, settings: Settings) -> int:
    key_file = settings.var_dir / "keys" / "secret.key"
    if settings.secret_key:
        keyring = app.keyring
        new_key = None
    else:
        data = json.loads(key_file.read_text())
        new_key = new_master_key()
        previous = [data["current"], *data["previous"]]
        write_key_file(key_file, current=new_key, previous=previous)
        keyring = Keyring(decode_master_key(new_key), [decode_master_key(k) for k in previous])
    count = 0
    for table, columns in ENCRYPTED:
        count += await _reencrypt(app, keyring, table, columns)
    count += await asyncio.to_thread(photos.reencrypt, photos.folder(app), keyring)
    if new_key is not None:
        write_key_file(key_file, current=new_key, previous=[])
    return count


async def _reencrypt(
    app: Warta, keyring: Keyring, table: type[Base], columns: list[tuple[str, str, str | None]]
) -> int:
    count = 0
    last = None
    names = [c for c, _, _ in columns]
    while True:
        async with app.uow() as uow:
            rows = await uow.sealed.page(table, names, last, BATCH)
            if not rows:
                return count
            changes: list[tuple[Any, dict[str, Any]]] = []
            for key, *blobs in rows:
                change: dict[str, Any] = {}
                for (column, field, hash_column), blob in zip(columns, blobs, strict=True):
                    if blob is None or keyring.is_current(blob):
                        continue
                    plain = keyring.decrypt_bytes(blob, field=field)
                    change[column] = keyring.encrypt_bytes(plain, field=field)
                    if hash_column:
                        change[hash_column] = keyring.lookup_hash(plain.decode())
                    count += 1
                if change:
                    changes.append((key, change))
            for key, change in changes:
                await uow.sealed.write(table, key, change)
            await uow.commit()
            last = rows[-1][0]
