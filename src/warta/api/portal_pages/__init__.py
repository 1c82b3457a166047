"""The citizen portal's pages: sign in with a one-time code, the inbox, one message, and
the citizen's own settings: preferences, topics, contacts (who added each; confirm one
with a code sent to it, or refuse one), consent history, devices, and their data
(download it, delete it).

Server-rendered HTML forms over the same services as /portal/api, in Bahasa Indonesia
(English by ``?lang=en``), working with no JavaScript at all (a cheap phone on a slow
connection): every change is a POST that redirects back (POST-redirect-GET). A push's
link lands on a message page here; opening it marks the message read, which ends
escalation. The session cookie is SameSite=Lax and HttpOnly, and every signed-in form
also carries a token bound to the session (``csrf_token``), so another site cannot post
these forms with it.
"""

from warta.api.portal_pages import chat, choices, contacts, data, reports, session
from warta.api.portal_pages.common import install, router

# The page modules add their routes to the one router when imported.
__all__ = ["chat", "choices", "contacts", "data", "install", "reports", "router", "session"]
