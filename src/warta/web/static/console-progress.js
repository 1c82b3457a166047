/*
 * Progress pages (a bulk send, a broadcast), kept current. Without JavaScript the page has
 * a Refresh link; with it, while the #progress section is marked data-running, the page
 * is fetched again every few seconds and only that section is replaced, with the other
 * parts marked data-refresh (a broadcast's facts and its Cancel button, which end when it
 * does). The summary is a status region, so a screen reader hears the new count without
 * losing its place.
 */
"use strict";

(function () {
  const EVERY_MS = 3000;
  const section = document.getElementById("progress");
  if (!section || !section.hasAttribute("data-running")) return;
  const summary = document.getElementById("progress-summary");

  async function refresh() {
    try {
      const answer = await fetch(location.href, { credentials: "same-origin" });
      if (!answer.ok) return setTimeout(refresh, EVERY_MS);
      const page = new DOMParser().parseFromString(await answer.text(), "text/html");
      const fresh = page.getElementById("progress");
      if (!fresh) return;
      // Everything but the summary is swapped; the summary keeps its element (a live
      // region that is replaced is not announced), and gets the new words.
      const freshSummary = fresh.querySelector("#progress-summary");
      if (summary && freshSummary) freshSummary.replaceWith(summary);
      if (summary && freshSummary) summary.textContent = freshSummary.textContent;
      section.replaceChildren(...fresh.childNodes);
      document.querySelectorAll("[data-refresh]").forEach((part) => {
        const freshPart = page.getElementById(part.id);
        if (freshPart) part.replaceWith(freshPart);
      });
      const running = fresh.hasAttribute("data-running");
      section.toggleAttribute("data-running", running);
      if (running) setTimeout(refresh, EVERY_MS);
    } catch (_offline) {
      setTimeout(refresh, EVERY_MS);
    }
  }

  setTimeout(refresh, EVERY_MS);
})();
