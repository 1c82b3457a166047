"""Ids of notification rows: time-ordered UUIDs (version 7, RFC 9562).

A broadcast writes a million rows at once; with random (version 4) ids every insert
lands on a random page of the primary-key index and of ``message_id``'s, so the
database's cache churns as the table grows. Version 7 ids start with the time, so new rows
go at the end of those indexes. They are still UUIDs to every client; the time they carry
is the row's ``created_at``, which the API shows anyway. ``uuid-utils`` makes them (the
standard library gains ``uuid7`` only in Python 3.14).
"""

from __future__ import annotations

import uuid

from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    return uuid7()
