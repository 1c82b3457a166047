"""The chatbot: one conversation engine behind Telegram, WhatsApp, SMS replies, the portal
and the agencies' own apps (docs/chatbot.md)."""
