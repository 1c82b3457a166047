/*
 * The portal's chat page, enhanced: its forms (the message, each quick reply) are posted
 * without reloading the page, and the conversation the server answers with (the same
 * page, after its redirect) replaces the one shown. Without JavaScript the forms post
 * and the page reloads; nothing else differs.
 */
"use strict";

(function () {
  const script = document.currentScript;
  const words = (script && script.dataset) || {};

  function say(text) {
    const status = document.getElementById("chat-status");
    if (status) status.textContent = text || "";
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
    // Only the page's <main>, into an inert template: the answer's <head> (its styles,
    // with another response's nonce) is never parsed into this document.
    const html = await answer.text();
    const start = html.indexOf("<main>");
    const end = html.lastIndexOf("</main>");
    const holder = document.createElement("template");
    holder.innerHTML = start >= 0 && end > start ? html.slice(start + 6, end) : "";
    const fresh = holder.content.getElementById("chat");
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

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("chat-form")) return;
    event.preventDefault();
    post(form);
  });
})();
