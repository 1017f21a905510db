// The dashboard's report per agent and per dialect (today): a table, a chart of answers per
// agent (seniors and others), and a table per dialect. Fetched when the page opens and on
// "Refresh", never on the live board's stream; the figures are /api/v1/team's.
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";

  function $(id) { return document.getElementById(id); }

  function minutes(s) {
    s = Math.round(s || 0);
    return Math.floor(s / 60) + ":" + (s % 60 < 10 ? "0" : "") + (s % 60);
  }

  function percent(x) { return x === null || x === undefined ? "—" : Math.round(x * 100) + "%"; }

  function fill(id, rows) {
    const body = $(id).querySelector("tbody");
    while (body.firstChild) body.removeChild(body.firstChild);
    rows.forEach(function (cells) {
      const tr = document.createElement("tr");
      cells.forEach(function (text) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function codes(map) {
    const parts = Object.keys(map).map(function (c) { return c + " " + map[c]; });
    return parts.length ? parts.join(", ") : "—";
  }

  function el(name, attrs, text) {
    const node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function chart(agents) {
    const svg = $("team-chart");
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const max = Math.max(1, ...agents.map(function (a) { return a.answered; }));
    const left = 30, slot = agents.length ? (565 / agents.length) : 565;
    const y = function (v) { return 190 - (v / max) * 175; };
    svg.appendChild(el("line", { x1: left, x2: 595, y1: 190, y2: 190, stroke: "#d5dbe3" }));
    svg.appendChild(el("text", { x: left - 4, y: y(max) + 4, "text-anchor": "end" }, String(max)));
    agents.forEach(function (a, i) {
      const x = left + i * slot + slot * 0.1, w = slot * 0.8;
      const seniors = a.seniors_answered, all = a.answered;
      svg.appendChild(el("rect", { x: x, y: y(seniors), width: w, height: 190 - y(seniors),
                                   fill: "#7a1fa2", "data-agent": a.agent, class: "bar-senior" }));
      svg.appendChild(el("rect", { x: x, y: y(all), width: w, height: y(seniors) - y(all),
                                   fill: "#0b5cad", class: "bar-other" }));
      svg.appendChild(el("text", { x: x + w / 2, y: 206, "text-anchor": "middle" }, a.agent));
    });
  }

  function draw(report) {
    const agents = report.agents;
    fill("team", agents.map(function (a) {
      return [(a.name ? a.name + " " : "") + "(" + a.agent + ")", a.offered, a.answered, a.missed,
              a.seniors_answered, minutes(a.talk_s), minutes(a.open_line_s),
              minutes(a.wrap_up_s), percent(a.occupancy),
              codes(a.wrap_up_codes)];
    }));
    fill("dialects", report.dialects.map(function (d) {
      return [d.dialect, d.offered, d.answered, percent(d.answered_in_dialect_share),
              d.time_to_human_s === null ? "—" : d.time_to_human_s.toFixed(1) + " s"];
    }));
    chart(agents);
    $("team-empty").hidden = agents.length > 0;
  }

  function load() {
    return fetch("/api/v1/team", { headers: { "Accept": "application/json" },
                                   credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.error || response.statusText);
          $("team-error").hidden = true;
          draw(body);
        });
      })
      .catch(function (e) {
        const box = $("team-error");
        box.textContent = e.message || String(e);
        box.hidden = false;
      });
  }

  function start() {
    if (!$("team")) return;
    $("team-refresh").addEventListener("click", load);
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
