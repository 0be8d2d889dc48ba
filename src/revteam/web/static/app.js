// revteam pages: draw charts, auto-apply filters, copy links. No inline scripts (CSP).
"use strict";

function drawCharts() {
  document.querySelectorAll("[data-chart]").forEach((el) => {
    const source = document.getElementById(el.dataset.chart);
    if (!source || typeof window.vegaEmbed !== "function") return;
    const spec = JSON.parse(source.textContent);
    window.vegaEmbed(el, spec, { actions: false, renderer: "svg" })
      .then(() => el.setAttribute("data-drawn", "true"))
      .catch((err) => { el.textContent = "This chart could not be drawn: " + err; });
  });
}

function cleanFilterForms() {
  document.querySelectorAll("form.filters").forEach((form) => {
    const period = form.querySelector("select[name=period]");
    const range = form.querySelectorAll("[data-range]");
    const showRange = () => range.forEach((r) => r.classList.toggle("hidden", period.value !== "custom"));
    if (period) period.addEventListener("change", showRange);
    form.querySelectorAll("select[data-autosubmit]").forEach((s) =>
      s.addEventListener("change", () => {
        if (s.name === "period" && s.value === "custom") return;  // wait for the dates
        form.requestSubmit();
      }));
    // Leave defaults and empty fields out of the URL, so shared links stay short.
    form.addEventListener("submit", () => {
      const custom = period && period.value === "custom";
      form.querySelectorAll("input, select").forEach((f) => {
        const isDefault = (f.name === "period" && (f.value === "12m" || f.value === "custom"))
          || (f.name === "grain" && f.value === "month")
          || ((f.name === "start" || f.name === "end") && !custom);
        if (!f.value || isDefault) f.disabled = true;
      });
    });
  });
}

function copyLinks() {
  document.querySelectorAll("[data-copy-link]").forEach((b) =>
    b.addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(window.location.href); b.textContent = "Link copied"; }
      catch (e) { window.prompt("Copy this link:", window.location.href); }
    }));
}

function confirmations() {
  document.querySelectorAll("form[data-confirm]").forEach((f) =>
    f.addEventListener("submit", (e) => { if (!window.confirm(f.dataset.confirm)) e.preventDefault(); }));
}

document.addEventListener("DOMContentLoaded", () => {
  drawCharts();
  cleanFilterForms();
  copyLinks();
  confirmations();
});
