// The dashboard's few behaviours; every page works without them (links and forms fall back
// to whole pages). Menus, modals, copying the claim link, pause/resume in place, and the
// generation progress bar.
"use strict";

(function () {
  const announce = (text) => {
    const region = document.getElementById("announce");
    if (region) region.textContent = text;
  };

  const closeMenus = (except) => {
    document.querySelectorAll("details.menu[open]").forEach((menu) => {
      if (menu !== except) menu.open = false;
    });
  };

  document.addEventListener("click", (event) => {
    const target = event.target;
    closeMenus(target.closest("details.menu"));

    // links that open a <dialog> in the page instead of going to their own page
    const opener = target.closest("[data-dialog]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.dialog);
      if (dialog && typeof dialog.showModal === "function") {
        event.preventDefault();
        closeMenus(null);
        dialog.showModal();
      }
      return;
    }
    const closer = target.closest("[data-close]");
    if (closer && closer.closest("dialog")) {
      event.preventDefault();
      closer.closest("dialog").close();
      return;
    }
    const copier = target.closest("[data-copy]");
    if (copier) copyLink(copier);
  });

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const open = document.querySelector("details.menu[open]");
    if (open) {
      open.open = false;
      open.querySelector("summary").focus();
    }
  });

  async function copyLink(button) {
    const input = document.getElementById(button.dataset.copy);
    const status = button.closest("dialog, section, article")?.querySelector(".copy-status");
    let copied = false;
    try {
      await navigator.clipboard.writeText(input.value);
      copied = true;
    } catch (e) {
      input.select(); // not a secure context: the old way
      copied = document.execCommand && document.execCommand("copy");
    }
    const text = copied ? "Link copied to the clipboard." : "Could not copy: select the link and copy it by hand.";
    if (status) status.textContent = text;
    announce(text);
  }

  // Forms marked data-async (pause, resume) post in the background; the server answers with
  // the batch's card, which replaces the old one.
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches("form[data-async]")) return;
    const target = document.getElementById(form.dataset.target);
    if (!target) return; // no card to replace (a batch's own page): the plain form, and the page it answers
    event.preventDefault();
    const button = event.submitter || form.querySelector("button");
    button.disabled = true;
    button.classList.add("busy");
    button.setAttribute("aria-busy", "true");
    let response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-Fragment": form.dataset.async },
        credentials: "same-origin",
      });
    } catch (e) {
      form.submit(); // the network failed: let the browser try the plain way
      return;
    }
    const html = await response.text();
    if (response.status === 401) {
      window.location.assign("/dashboard/sign-in?next=" + encodeURIComponent(location.pathname));
      return;
    }
    if (response.ok && target) {
      target.outerHTML = html;
      const card = document.getElementById(form.dataset.target);
      const badge = card && card.querySelector(".badge");
      announce(badge ? "Claims now " + badge.textContent.trim() : "Done");
      const summary = card && card.querySelector("details.menu summary");
      if (summary) summary.focus(); // keyboard users stay where they were
      return;
    }
    button.disabled = false;
    button.classList.remove("busy");
    button.removeAttribute("aria-busy");
    const errorBox = target && target.querySelector(".card-error");
    if (errorBox) {
      const holder = document.createElement("div");
      holder.innerHTML = html;
      errorBox.textContent = holder.textContent.trim();
    }
  });

  // While a batch generates, its page polls the progress and reloads when generation ends.
  const bar = document.getElementById("generation-progress");
  if (bar && bar.dataset.progressUrl) {
    const box = bar.closest("section");
    const show = (p) => {
      bar.max = Math.max(p.total, 1);
      bar.value = p.done;
      box.querySelector("[data-done]").textContent = p.done.toLocaleString(document.documentElement.lang || "en");
      box.querySelector("[data-total]").textContent = p.total.toLocaleString(document.documentElement.lang || "en");
      box.querySelector("[data-percent]").textContent = String(p.percent);
      box.querySelector("[data-left]").textContent = p.left || "";
      const resume = document.getElementById("generation-resume");
      resume.hidden = !p.resume;
      resume.textContent = p.resume || "";
      const error = document.getElementById("generation-error");
      error.hidden = !p.error;
      error.textContent = p.error || "";
    };
    const poll = async () => {
      try {
        const response = await fetch(bar.dataset.progressUrl, { credentials: "same-origin", headers: { "X-Fragment": "progress" } });
        if (response.ok) {
          const p = await response.json();
          show(p);
          if (p.state !== "generating") {
            window.location.replace(window.location.pathname + "?done=generated");
            return;
          }
        }
      } catch (e) {
        /* the server may be restarting: keep asking */
      }
      window.setTimeout(poll, 400);
    };
    window.setTimeout(poll, 400);
  }

  // The batch cards keep their figures live: every few seconds the page is fetched again and each
  // card's figures and status are brought up to date (nothing else moves: menus and dialogs stay).
  const cards = document.querySelector(".cards[data-refresh-seconds]");
  if (cards) {
    const refresh = async () => {
      try {
        const response = await fetch(window.location.href, { credentials: "same-origin" });
        if (response.ok) {
          const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
          for (const card of fresh.querySelectorAll("article.card[data-batch]")) {
            const here = document.getElementById(card.id);
            if (!here) continue;
            for (const figure of card.querySelectorAll("[data-figure]")) {
              const old = here.querySelector(`[data-figure="${figure.dataset.figure}"]`);
              if (old && old.textContent !== figure.textContent) old.textContent = figure.textContent;
            }
            // Planned becomes Total when generation ends: the labels follow the figures
            const labels = [...card.querySelectorAll(".figures dt")].map((dt) => dt.textContent);
            here.querySelectorAll(".figures dt").forEach((dt, i) => {
              if (labels[i] !== undefined && dt.textContent !== labels[i]) dt.textContent = labels[i];
            });
            const status = here.querySelector(".status");
            const freshStatus = card.querySelector(".status");
            if (status && freshStatus && status.innerHTML !== freshStatus.innerHTML) status.innerHTML = freshStatus.innerHTML;
          }
        }
      } catch (e) {
        /* offline for a moment: try again next time */
      }
      window.setTimeout(refresh, 1000 * Number(cards.dataset.refreshSeconds));
    };
    window.setTimeout(refresh, 1000 * Number(cards.dataset.refreshSeconds));
  }
})();
