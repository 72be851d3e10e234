"""The Mini App's one page: HTML with its CSS and script inline, nothing loaded from elsewhere.

It reads Telegram's initData from the URL fragment (#tgWebAppData=..., how Telegram clients
open a Mini App), or from Telegram's own script object when a client provides it, sends it
with every API request, and draws the figures as SVG with plain DOM calls (data only ever
reaches the page through textContent and attributes, never as markup). Its texts come
translated from the API; the few it needs before that are in both languages.
"""

from __future__ import annotations

_PAGE = r"""<!doctype html>
<html lang="__LANG__">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Dashboard</title>
<style>
:root {
  --bg: #ffffff; --text: #1d2733; --hint: #6b7785; --accent: #2a7ab0;
  --card: #f2f4f7; --accent-text: #ffffff; --track: rgba(127, 127, 127, 0.18);
}
* { box-sizing: border-box; }
body {
  margin: 0; padding: 12px; background: var(--bg); color: var(--text);
  font: 15px/1.4 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
h1 { font-size: 20px; margin: 4px 0 2px; }
h2 { font-size: 16px; margin: 0 0 8px; }
.sub, .note { color: var(--hint); font-size: 13px; margin: 0 0 10px; }
.card { background: var(--card); border-radius: 12px; padding: 12px; margin: 0 0 12px; }
.periods { display: flex; gap: 6px; flex-wrap: wrap; margin: 8px 0 12px; }
.periods button {
  flex: 1 1 auto; border: 1px solid var(--accent); background: transparent; color: var(--accent);
  border-radius: 8px; padding: 8px 6px; font: inherit; font-size: 13px; cursor: pointer;
}
.periods button[aria-pressed="true"] { background: var(--accent); color: var(--accent-text); }
svg { display: block; width: 100%; height: auto; overflow: visible; }
svg text { fill: var(--text); font-size: 12px; }
svg .value { font-weight: 600; }
svg .note { fill: var(--hint); }
svg text.tight { font-size: 10px; }
svg .bar { fill: var(--accent); }
svg .bar.small { fill-opacity: 0.45; }
svg .track { fill: var(--track); }
.big { font-size: 32px; font-weight: 700; margin: 0 0 6px; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 4px 6px 4px 0; vertical-align: top; }
td.num, th.num { text-align: right; }
.bc { border-top: 1px solid var(--track); padding: 8px 0; }
.bc:first-of-type { border-top: 0; }
.bc .what { font-weight: 600; overflow-wrap: anywhere; }
#error { display: none; border-left: 4px solid #c0392b; }
body[data-state="error"] #error { display: block; }
body[data-state="error"] #content, body[data-state="error"] #loading { display: none; }
body[data-state="ready"] #loading { display: none; }
body:not([data-state="ready"]) #content { display: none; }
</style>
</head>
<body data-state="loading">
<h1 id="title">Dashboard</h1>
<p id="loading" class="sub">Lade… / Loading…</p>
<div id="error" class="card" role="alert"><p id="error-text"></p></div>
<main id="content">
  <p id="kv" class="sub"></p>
  <div id="periods" class="periods" role="group"></div>
  <section class="card" id="funnel-card">
    <h2 id="funnel-title"></h2><div id="funnel"></div>
  </section>
  <section class="card" id="staffing-card">
    <h2 id="staffing-title"></h2><div id="staffing"></div>
  </section>
  <section class="card" id="newcomers-card">
    <h2 id="newcomers-title"></h2><p id="newcomers-total" class="big"></p><div id="newcomers"></div>
  </section>
  <section class="card" id="attendance-card">
    <h2 id="attendance-title"></h2><div id="attendance"></div>
  </section>
  <section class="card" id="districts-card">
    <h2 id="districts-title"></h2><div id="districts"></div>
  </section>
  <section class="card" id="actions-card">
    <h2 id="actions-title"></h2><div id="actions"></div>
  </section>
  <section class="card" id="broadcasts-card">
    <h2 id="broadcasts-title"></h2><div id="broadcasts"></div>
  </section>
  <p id="small-note" class="note"></p>
  <p id="generated" class="note"></p>
</main>
<script nonce="__NONCE__">
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var FALLBACK = "Das hat nicht geklappt. Bitte später noch einmal. / " +
    "Something went wrong. Please try again later.";
  var hash = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  var tg = window.Telegram && window.Telegram.WebApp ? window.Telegram.WebApp : null;
  var initData = hash.get("tgWebAppData") || (tg && tg.initData) || "";
  var labels = {};
  var current = "last_30_days";

  function theme() {
    var params = tg && tg.themeParams ? tg.themeParams : null;
    if (!params && hash.get("tgWebAppThemeParams")) {
      try { params = JSON.parse(hash.get("tgWebAppThemeParams")); } catch (e) { params = null; }
    }
    if (!params) { return; }
    var map = { bg_color: "--bg", text_color: "--text", hint_color: "--hint",
      button_color: "--accent", secondary_bg_color: "--card", button_text_color: "--accent-text" };
    Object.keys(map).forEach(function (key) {
      var value = params[key];
      if (typeof value === "string" && /^#[0-9a-fA-F]{3,8}$/.test(value)) {
        document.documentElement.style.setProperty(map[key], value);
      }
    });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function svgEl(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function put(id, node) {
    var box = document.getElementById(id);
    box.textContent = "";
    if (node) { box.appendChild(node); }
  }

  function text(id, value) { document.getElementById(id).textContent = value || ""; }

  function empty(message) { return el("p", { "class": "note" }, message); }

  // Horizontal bars: the label above, the bar below with its figure at its end, and an
  // optional note under it. `items`: {label, bar, text, small, max?, figure?, note?}; with
  // `max` the bar sits on a track of that length.
  function hbars(items, title) {
    if (!items || !items.length) { return empty(labels.no_data); }
    var width = 360, labelRoom = 80;
    var row = items.some(function (item) { return item.note; }) ? 54 : 40;
    // At least 5: a lone "< 3" doesn't fill the whole width.
    var peak = 5;
    items.forEach(function (item) { peak = Math.max(peak, item.bar, item.max || 0); });
    var scale = (width - labelRoom) / peak;
    var svg = svgEl("svg", { viewBox: "0 0 " + width + " " + (items.length * row),
      role: "img", "aria-label": title || "" });
    items.forEach(function (item, index) {
      var y = index * row;
      if (item.note) {
        svg.appendChild(svgEl("text", { "class": "note", x: 0, y: y + 46 }, item.note));
      }
      svg.appendChild(svgEl("text", { x: 0, y: y + 13 }, item.label));
      if (item.max) {
        svg.appendChild(svgEl("rect", { "class": "track", x: 0, y: y + 18,
          width: Math.max(2, item.max * scale), height: 14, rx: 3 }));
      }
      var length = Math.max(item.bar > 0 ? 3 : 0, item.bar * scale);
      svg.appendChild(svgEl("rect", { "class": "bar" + (item.small ? " small" : ""),
        x: 0, y: y + 18, width: length, height: 14, rx: 3 }));
      var end = Math.max(length, item.max ? item.max * scale : 0);
      svg.appendChild(svgEl("text", { "class": "value", x: end + 6, y: y + 30 },
        item.figure || item.text));
    });
    return svg;
  }

  // Columns (attendance per month): the figure on top, the month below.
  function columns(items, title) {
    if (!items || !items.length) { return empty(labels.no_data); }
    var width = 360, height = 180, bottom = 24, top = 18;
    var peak = 1;
    items.forEach(function (item) { peak = Math.max(peak, item.bar); });
    var slot = width / items.length;
    var labelClass = items.length > 4 ? "tight" : "";
    var barWidth = Math.min(48, slot * 0.6);
    var scale = (height - bottom - top) / peak;
    var svg = svgEl("svg", { viewBox: "0 0 " + width + " " + height, role: "img",
      "aria-label": title || "" });
    svg.appendChild(svgEl("rect", { "class": "track", x: 0, y: height - bottom, width: width,
      height: 1 }));
    items.forEach(function (item, index) {
      var h = Math.max(item.bar > 0 ? 3 : 0, item.bar * scale);
      var x = index * slot + (slot - barWidth) / 2;
      var middle = index * slot + slot / 2;
      svg.appendChild(svgEl("rect", { "class": "bar" + (item.small ? " small" : ""), x: x,
        y: height - bottom - h, width: barWidth, height: h, rx: 3 }));
      svg.appendChild(svgEl("text", { "class": "value", x: middle, y: height - bottom - h - 5,
        "text-anchor": "middle" }, item.text));
      svg.appendChild(svgEl("text", { x: middle, y: height - 6, "text-anchor": "middle",
        "class": labelClass }, item.label));
    });
    return svg;
  }

  function table(head, rows) {
    var node = el("table");
    var tr = el("tr");
    head.forEach(function (cell, index) {
      tr.appendChild(el("th", index ? { "class": "num" } : {}, cell));
    });
    node.appendChild(tr);
    rows.forEach(function (row) {
      var line = el("tr");
      row.forEach(function (cell, index) {
        line.appendChild(el("td", index ? { "class": "num" } : {}, cell));
      });
      node.appendChild(line);
    });
    return node;
  }

  function periods(data) {
    var box = document.getElementById("periods");
    box.textContent = "";
    box.setAttribute("aria-label", labels.period || "");
    Object.keys(data.periods).forEach(function (key) {
      var button = el("button", { type: "button", "data-period": key,
        "aria-pressed": key === data.period ? "true" : "false" }, data.periods[key]);
      button.addEventListener("click", function () {
        if (key !== current) { load(key); }
      });
      box.appendChild(button);
    });
  }

  function render(data) {
    labels = data.labels;
    document.documentElement.lang = data.locale;
    document.title = labels.title;
    text("title", labels.title);
    periods(data);
    ["funnel", "staffing", "newcomers", "attendance", "districts", "actions", "broadcasts"]
      .forEach(function (key) { text(key + "-title", labels[key]); });
    var report = data.report;
    if (report) {
      text("kv", report.kv_name + " · " + report.first_day + " – " + report.last_day);
      put("funnel", hbars(report.funnel, labels.funnel));
      put("attendance", columns(report.attendance, labels.attendance));
      put("districts", hbars(report.districts, labels.districts));
      put("actions", report.actions.length ? table(
        ["", labels.dates, labels.shifts_filled],
        report.actions.map(function (a) { return [a.label, a.dates, a.shifts_filled]; })
      ) : empty(labels.no_data));
    } else {
      text("kv", data.kv_name);
      ["funnel", "attendance", "districts", "actions"].forEach(function (key) {
        put(key, empty(labels.report_missing));
      });
    }
    put("staffing", data.staffing.length ? hbars(data.staffing.map(function (s) {
      return { label: s.label, bar: s.bar, small: s.small, max: s.needed, figure: s.summary,
        note: s.note };
    }), labels.staffing) : empty(labels.staffing_none));
    text("newcomers-total", data.newcomers.total.text);
    put("newcomers", data.newcomers.districts.length ?
      hbars(data.newcomers.districts, labels.newcomers) : empty(labels.newcomers_none));
    var list = el("div");
    data.broadcasts.forEach(function (b) {
      var item = el("div", { "class": "bc" });
      item.appendChild(el("div", { "class": "what" }, b.summary || b.category));
      item.appendChild(el("div", { "class": "note" }, b.when + " · " + b.category));
      item.appendChild(table([labels.total, labels.delivered, labels.unreachable, labels.opted_out],
        [[b.total, b.delivered, b.unreachable, b.opted_out]]));
      list.appendChild(item);
    });
    put("broadcasts", data.broadcasts.length ? list : empty(labels.broadcasts_none));
    text("small-note", labels.small_note);
    text("generated", data.generated);
    document.body.setAttribute("data-state", "ready");
    document.body.setAttribute("data-period", data.period);
  }

  function fail(message) {
    text("error-text", message || FALLBACK);
    document.body.setAttribute("data-state", "error");
  }

  function load(period) {
    current = period;
    document.body.setAttribute("data-state", "loading");
    fetch("api/dashboard?period=" + encodeURIComponent(period), {
      headers: { "Authorization": "tma " + initData },
      credentials: "omit",
      cache: "no-store"
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (result.ok) { render(result.body); } else { fail(result.body && result.body.message); }
    }).catch(function () { fail(FALLBACK); });
  }

  // Tell the Telegram client the page is ready and may use the full height: through its
  // script object when a client injected one, else through the client's event bridge (mobile
  // apps: TelegramWebviewProxy; web clients: the parent frame; desktop: window.external).
  function postEvent(type) {
    try {
      if (tg && type === "web_app_ready") { tg.ready(); return; }
      if (tg && type === "web_app_expand") { tg.expand(); return; }
      if (window.TelegramWebviewProxy) {
        window.TelegramWebviewProxy.postEvent(type, "");
      } else if (window.external && "notify" in window.external) {
        window.external.notify(JSON.stringify({ eventType: type, eventData: "" }));
      } else if (window.parent !== window) {
        window.parent.postMessage(JSON.stringify({ eventType: type, eventData: "" }),
          "https://web.telegram.org");
      }
    } catch (e) { /* not inside Telegram, or an older client: nothing to tell */ }
  }

  theme();
  postEvent("web_app_ready");
  postEvent("web_app_expand");
  load(current);
})();
</script>
</body>
</html>
"""


def render_page(*, nonce: str, lang: str) -> str:
    """The page, its one script allowed by `nonce` (the response's CSP names it)."""
    return _PAGE.replace("__NONCE__", nonce).replace("__LANG__", lang)
