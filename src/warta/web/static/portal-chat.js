/*
 * The portal's chat page, enhanced: its forms (the message, each quick reply) are posted
 * without reloading the page, and the conversation the server answers with (the same
 * page, after its redirect) replaces the one shown. While the conversation waits for the
 * agency's staff, the page is read again every 15 seconds and their answers appear
 * (only the history: what the citizen is typing stays). Without JavaScript the forms
 * post and the page reloads; nothing else differs.
 */
"use strict";

(function () {
  const script = document.currentScript;
  const words = (script && script.dataset) || {};

  function say(text) {
    const status = document.getElementById("chat-status");
    if (status) status.textContent = text || "";
  }

  /* The #chat section of a whole page's HTML. Only its <main> goes into an inert
   * template: the answer's <head> (its styles, with another response's nonce) is never
   * parsed into this document. */
  function chatOf(html) {
    const start = html.indexOf("<main>");
    const end = html.lastIndexOf("</main>");
    const holder = document.createElement("template");
    holder.innerHTML = start >= 0 && end > start ? html.slice(start + 6, end) : "";
    return holder.content.getElementById("chat");
  }

  async function poll() {
    const shown = document.getElementById("chat");
    if (!shown || !shown.dataset.waiting) return;
    try {
      const answer = await fetch(location.pathname, { credentials: "same-origin" });
      const fresh = answer.ok ? chatOf(await answer.text()) : null;
      const log = fresh && fresh.querySelector("#chat-log");
      const mine = document.getElementById("chat-log");
      if (log && mine && log.textContent !== mine.textContent) {
        mine.replaceWith(document.importNode(log, true));
      }
      if (fresh && !fresh.dataset.waiting) {
        shown.replaceWith(document.importNode(fresh, true));  // back with the bot: its options
      }
    } catch (_err) {
      /* offline for now: the next round tries again */
    }
  }

  async function post(form) {
    const body = new URLSearchParams(new FormData(form));
    say(words.sending);
    let answer;
    try {
      answer = await fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      });
    } catch (_err) {
      say(words.failed);
      return;
    }
    if (!answer.redirected && !answer.ok && answer.status !== 400) {
      say(words.failed);
      return;
    }
    const fresh = chatOf(await answer.text());
    const shown = document.getElementById("chat");
    if (!fresh || !shown) {
      say(words.failed);
      return;
    }
    shown.replaceWith(document.importNode(fresh, true));
    const latest = document.getElementById("latest");
    if (latest) latest.scrollIntoView({ block: "nearest" });
    const field = document.getElementById("chat-text");
    if (field) field.focus();
  }

  setInterval(poll, 15000);

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("chat-form")) return;
    event.preventDefault();
    post(form);
  });
})();
