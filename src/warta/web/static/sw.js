/*
 * Warta's service worker: shows Web Push notifications and reports when one is opened.
 *
 * Payload (decrypted by the browser, sent by warta.channels.webpush):
 *   {"title": "...", "body": "...", "url": "https://.../portal/...", "id": "<notification id>"}
 *
 * tag = id, so a resent notification replaces the one already shown instead of stacking.
 * Opening one POSTs {"id"} to /portal/api/inbox/read; that is how Warta learns it was read
 * (a push service only reports that it took the message).
 */
"use strict";

const FALLBACK_URL = "/portal/";
const READ_ENDPOINT = "/portal/api/inbox/read";
const ICON = "/static/icon.svg";

function readPayload(data) {
  if (!data) return {};
  try {
    const parsed = data.json();
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch (_) {
    // Not JSON: show the text rather than drop the message.
    return { body: data.text() };
  }
}

// Only http(s) on any origin; anything else (javascript:, data:) falls back to the portal.
function safeUrl(url) {
  try {
    const resolved = new URL(url || FALLBACK_URL, self.location.origin);
    return resolved.protocol === "https:" || resolved.protocol === "http:"
      ? resolved.href
      : new URL(FALLBACK_URL, self.location.origin).href;
  } catch (_) {
    return new URL(FALLBACK_URL, self.location.origin).href;
  }
}

self.addEventListener("push", (event) => {
  const payload = readPayload(event.data);
  const title = typeof payload.title === "string" && payload.title ? payload.title : "Warta";
  const options = {
    body: typeof payload.body === "string" ? payload.body : "",
    icon: ICON,
    badge: ICON,
    lang: "id",
    data: { url: safeUrl(payload.url), id: payload.id == null ? null : String(payload.id) },
  };
  if (options.data.id) {
    options.tag = options.data.id;
    options.renotify = true; // a replaced notification still alerts once more
  }
  // Browsers require a visible notification for every push; always show one.
  event.waitUntil(self.registration.showNotification(title, options));
});

async function markRead(id) {
  if (!id) return;
  try {
    await fetch(READ_ENDPOINT, {
      method: "POST",
      credentials: "include",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id }),
    });
  } catch (_) {
    // Offline or signed out: the inbox marks it read when the citizen opens it there.
  }
}

async function openWindow(url) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) {
    if (client.url === url && "focus" in client) return client.focus();
  }
  return self.clients.openWindow ? self.clients.openWindow(url) : undefined;
}

self.addEventListener("notificationclick", (event) => {
  const data = event.notification.data || {};
  event.notification.close();
  event.waitUntil(
    Promise.all([
      openWindow(data.url || safeUrl(null)).catch(() => undefined),
      markRead(data.id),
    ]),
  );
});
