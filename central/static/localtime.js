// Member pages: every <time datetime="…" data-local> is written out again in the phone's own time
// zone, with the zone ("2 Mar 2026 at 15:03 CET"). Without scripts the server's UTC text stays.
(() => {
  "use strict";
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const format = new Intl.DateTimeFormat("en-GB", {
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  });
  const local = (moment) => {
    const part = {};
    for (const p of format.formatToParts(moment)) part[p.type] = p.value;
    const month = MONTHS[Number(part.month) - 1];
    return `${Number(part.day)} ${month} ${part.year} at ${part.hour}:${part.minute} ${part.timeZoneName}`;
  };
  const rewrite = () => {
    for (const el of document.querySelectorAll("time[data-local][datetime]")) {
      const moment = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(moment.getTime())) continue;
      if (!el.title) el.title = el.textContent; // the UTC text, on hover
      el.textContent = local(moment);
    }
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", rewrite);
  else rewrite();
})();
