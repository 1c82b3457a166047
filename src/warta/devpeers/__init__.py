"""Local servers that speak the real protocols of the services Warta sends through: a Web
Push service, Firebase (OAuth2 token endpoint and FCM HTTP v1), the WhatsApp Cloud API and
the Telegram Bot API.

Each checks what the real service checks (signatures, tokens, message shape) with its own
code, never Warta's, so the tests run against them prove the protocol, and ``make run``
wires them in when no credentials are set so the whole flow can be seen in /dev/outbox
with no outside service. Not for production: they keep what they receive in memory.
"""
