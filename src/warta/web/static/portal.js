/*
 * The portal's devices page, enhanced: turn on Web Push for this browser, and offer
 * "Install" when the browser does. Without JavaScript (or push support) the buttons stay
 * hidden and the page's text explains the other ways messages arrive.
 *
 * Enabling: register /portal/sw.js (scope /portal/), ask permission, subscribe with the
 * VAPID key from /portal/api/push/key, and POST the subscription to
 * /portal/api/push/subscriptions (the session cookie signs it; a JSON body cannot be
 * posted cross-site without CORS, so it needs no form token).
 */
"use strict";

(function () {
  const script = document.currentScript;
  const words = (script && script.dataset) || {};
  const status = document.getElementById("push-status");
  const enable = document.getElementById("push-enable");
  const install = document.getElementById("install");

  function say(text) {
    if (status) status.textContent = text || "";
  }

  function keyBytes(base64url) {
    const padded = (base64url + "===".slice((base64url.length + 3) % 4))
      .replace(/-/g, "+")
      .replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  async function subscribe() {
    const registration = await navigator.serviceWorker.register("/portal/sw.js", { scope: "/portal/" });
    if ((await Notification.requestPermission()) !== "granted") throw new Error("permission");
    const answer = await fetch("/portal/api/push/key", { credentials: "same-origin" });
    if (!answer.ok) throw new Error("key");
    const { public_key: key } = await answer.json();
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(key),
    });
    const saved = await fetch("/portal/api/push/subscriptions", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(subscription.toJSON()),
    });
    if (!saved.ok) throw new Error("save");
  }

  if (enable && "serviceWorker" in navigator && "PushManager" in window && "Notification" in window) {
    enable.hidden = false;
    enable.addEventListener("click", async () => {
      enable.disabled = true;
      try {
        await subscribe();
        say(words.enabled);
      } catch (_) {
        say(words.failed);
      } finally {
        enable.disabled = false;
      }
    });
  }

  // Chrome and Edge offer installation through this event; keep it for the button.
  let offered = null;
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();
    offered = event;
    if (install) install.hidden = false;
  });
  if (install) {
    install.addEventListener("click", async () => {
      if (!offered) return;
      offered.prompt();
      await offered.userChoice;
      offered = null;
      install.hidden = true;
    });
  }
})();
