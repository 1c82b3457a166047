/*
 * The console's template editor, enhanced. Without JavaScript the "Preview" button posts
 * the form and the page comes back with the preview; with it:
 *
 * - typing updates the preview: the form is posted (debounced) to its data-preview URL,
 *   which answers with the preview panel's HTML, signed with the page's CSRF token;
 * - fields marked data-kinds="email multi" show only for those kinds of template.
 */
"use strict";

(function () {
  const form = document.getElementById("template-form");
  const panel = document.getElementById("preview");
  if (!form || !panel) return;
  const token = document.querySelector('meta[name="csrf-token"]');
  const WAIT_MS = 300;
  let timer = 0;
  let latest = 0;

  function kind() {
    const chosen = form.querySelector('[name="kind"]:checked') || form.querySelector('[name="kind"]');
    return chosen ? chosen.value : "";
  }

  function showFieldsForKind() {
    const current = kind();
    form.querySelectorAll("[data-kinds]").forEach((part) => {
      part.hidden = !part.dataset.kinds.split(" ").includes(current);
    });
  }

  async function refresh() {
    const asked = ++latest;
    const body = new URLSearchParams(new FormData(form));
    body.delete("csrf_token");
    try {
      const answer = await fetch(form.dataset.preview, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": token ? token.content : "" },
        body: body,
      });
      // An older request answering late must not replace a newer preview.
      if (answer.ok && asked === latest) panel.innerHTML = await answer.text();
    } catch (_offline) {
      // The Preview button still works; nothing to do until the next keystroke.
    }
  }

  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, WAIT_MS);
  });
  form.addEventListener("change", showFieldsForKind);
  showFieldsForKind();
})();
