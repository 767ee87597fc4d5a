// Member pages: every <time datetime="…" data-local data-format="…"> is written out again in the
// phone's own time zone, in the page's language (<html lang>), with the zone: "2 mars 2026 à 15:03
// UTC+1". The server gives the words around the parts (data-format, from the page's catalogue:
// {day} {month} {year} {hour} {minute} {zone}); the browser's Intl gives the parts in that language.
// Without scripts the server's UTC text stays.
(() => {
  "use strict";
  const FIELDS = ["day", "month", "year", "hour", "minute", "zone"];
  const DEFAULT = "{day} {month} {year} at {hour}:{minute} {zone}";
  const language = () => {
    const lang = document.documentElement.lang || "en";
    try {
      return Intl.DateTimeFormat.supportedLocalesOf([lang]).length ? lang : "en";
    } catch (_) {
      return "en";
    }
  };
  const format = new Intl.DateTimeFormat(language(), {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  });
  const local = (moment, pattern) => {
    const part = {};
    for (const p of format.formatToParts(moment)) part[p.type] = p.value;
    part.zone = part.timeZoneName;
    if (FIELDS.some((name) => part[name] === undefined)) return null;
    return pattern.replace(/\{(\w+)\}/g, (whole, name) => (FIELDS.includes(name) ? part[name] : whole));
  };
  const rewrite = () => {
    for (const el of document.querySelectorAll("time[data-local][datetime]")) {
      const moment = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(moment.getTime())) continue;
      const text = local(moment, el.dataset.format || DEFAULT);
      if (text === null) continue;
      if (!el.title) el.title = el.textContent; // the UTC text, on hover
      el.textContent = text;
    }
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", rewrite);
  else rewrite();
})();
