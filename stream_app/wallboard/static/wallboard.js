// ccmon wallboard: renders the board the worker pushes over Server-Sent Events.
// The numbers are the JSON API's own values (data-value holds them raw); this file only
// formats them for the page's locale, colours them by the status the server decided, and
// rotates pages when there are more queues than fit on one screen.
"use strict";

const config = JSON.parse(document.getElementById("ccmon-config").textContent);
const L = config.labels;
const locale = config.locale;
const KPI_ROWS = ["service_level", "abandonment", "asa_seconds", "aht_seconds", "csat", "nps", "fcr"];
const RATIOS = new Set(["service_level", "abandonment", "csat", "fcr"]);

const fmtPercent = new Intl.NumberFormat(locale, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
const fmtInt = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
const fmtNps = new Intl.NumberFormat(locale, { maximumFractionDigits: 0, signDisplay: "exceptZero" });
const fmtTwo = new Intl.NumberFormat(locale, { minimumIntegerDigits: 2, useGrouping: false });

let board = null;
let page = 0;
let lastRotation = Date.now();
let pushes = 0;

function duration(seconds) {
  // m:ss below an hour, h:mm:ss above; digits in the locale's numbering system.
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  return h > 0 ? `${fmtInt.format(h)}:${fmtTwo.format(m)}:${fmtTwo.format(s)}`
               : `${fmtInt.format(m)}:${fmtTwo.format(s)}`;
}

function formatKpi(key, value) {
  if (value === null || value === undefined) return "\u2014";
  if (RATIOS.has(key)) return fmtPercent.format(value);
  if (key === "nps") return fmtNps.format(value);
  return duration(value);
}

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

function kpiCell(queue, window, key, entry) {
  return el("td", {
    class: "v", "data-queue": queue, "data-window": window, "data-kpi": key,
    "data-value": JSON.stringify(entry.value), "data-status": entry.status,
  }, formatKpi(key, entry.value));
}

function tile(t) {
  const node = el("section", { class: "tile", "data-queue": t.queue, "data-status": t.status });
  node.append(el("h2", {}, t.queue));
  const live = el("div", { class: "live" });
  const waiting = el("div");
  waiting.append(el("span", { class: "label" }, L.waiting));
  waiting.append(el("span", { class: "big", "data-queue": t.queue, "data-kpi": "waiting", "data-value": String(t.waiting) }, fmtInt.format(t.waiting)));
  const longest = el("div");
  longest.append(el("span", { class: "label" }, L.longest_wait));
  longest.append(el("span", { class: "wait", "data-queue": t.queue, "data-kpi": "longest_wait_seconds", "data-value": String(t.longest_wait_seconds) }, duration(t.longest_wait_seconds)));
  const offered = el("div");
  offered.append(el("span", { class: "label" }, `${L.offered} (${L.today})`));
  offered.append(el("span", { class: "wait", "data-queue": t.queue, "data-window": "today", "data-kpi": "offered", "data-value": String(t.today.offered) }, fmtInt.format(t.today.offered)));
  live.append(waiting, longest, offered);
  node.append(live);
  const table = el("table", { class: "kpis" });
  const head = el("tr");
  head.append(el("th", {}, ""), el("th", {}, L.today), el("th", { title: L.last_15m }, L.col_15m), el("th", {}, L.target));
  table.append(head);
  for (const key of KPI_ROWS) {
    const row = el("tr");
    row.append(el("td", { class: "name", title: L[key] }, L[`short_${key}`]));
    row.append(kpiCell(t.queue, "today", key, t.today.kpis[key]));
    row.append(kpiCell(t.queue, "last_15m", key, t.last_15m.kpis[key]));
    row.append(el("td", { class: "t" }, formatKpi(key, t.today.kpis[key].target)));
    table.append(row);
  }
  node.append(table);
  return node;
}

function summaryItem(label, text, attrs = {}) {
  const node = el("div", { class: "item" });
  node.append(el("div", { class: "label" }, label));
  node.append(el("div", { class: "value", ...attrs }, text));
  return node;
}

function perPage() {
  return config.cols * config.rows;
}

function visibleTiles() {
  // ?queues=billing,support puts only those queues on this screen (one TV per team).
  if (!board) return [];
  return config.queues.length ? board.tiles.filter((t) => config.queues.includes(t.queue)) : board.tiles;
}

function pages() {
  return Math.max(1, Math.ceil(visibleTiles().length / perPage()));
}

function render() {
  if (!board) return;
  const summary = document.getElementById("summary");
  const today = board.overall.today;
  summary.replaceChildren(
    summaryItem(L.waiting, fmtInt.format(board.overall.waiting), { "data-kpi": "waiting", "data-queue": "(all)", "data-value": String(board.overall.waiting) }),
    summaryItem(`${L.offered} (${L.today})`, fmtInt.format(today.offered)),
    summaryItem(L.service_level, formatKpi("service_level", today.kpis.service_level.value), { "data-status": today.kpis.service_level.status }),
    summaryItem(L.abandonment, formatKpi("abandonment", today.kpis.abandonment.value), { "data-status": today.kpis.abandonment.status }),
    summaryItem(L.csat, formatKpi("csat", today.kpis.csat.value)),
  );
  const count = pages();
  if (page >= count) page = 0;
  const shown = visibleTiles().slice(page * perPage(), (page + 1) * perPage());
  const tiles = document.getElementById("tiles");
  if (shown.length === 0) {
    tiles.replaceChildren(el("div", { class: "empty" }, L.no_queues));
  } else {
    tiles.replaceChildren(...shown.map(tile));
  }
  document.getElementById("page").textContent =
    count > 1 ? L.page.replace("{n}", fmtInt.format(page + 1)).replace("{m}", fmtInt.format(count)) : "";
  if (board.event_clock) {
    const at = new Date(board.event_clock);
    document.getElementById("event-clock").textContent =
      `${L.event_clock}: ${new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium", timeZone: board.timezone }).format(at)}`;
  }
  document.body.dataset.pushes = String(pushes);
}

function tickClock() {
  const zone = board ? board.timezone : undefined;
  document.getElementById("clock").textContent =
    new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZone: zone }).format(new Date());
  if (config.rotate_s > 0 && Date.now() - lastRotation >= config.rotate_s * 1000 && pages() > 1) {
    page = (page + 1) % pages();
    lastRotation = Date.now();
    render();
  }
}

function connect() {
  const source = new EventSource(config.stream_url);
  source.onopen = () => {
    document.body.dataset.status = "live";
    document.getElementById("offline").hidden = true;
  };
  source.onmessage = (message) => {
    board = JSON.parse(message.data);
    pushes += 1;
    window.__ccmonBoard = board;
    render();
  };
  source.onerror = () => {
    // EventSource reconnects by itself; say so instead of showing stale numbers as live.
    document.body.dataset.status = "offline";
    document.getElementById("offline").hidden = false;
  };
}

document.documentElement.style.setProperty("--cols", String(config.cols));
document.documentElement.style.setProperty("--rows", String(config.rows));
tickClock();
setInterval(tickClock, 1000);
connect();
