// The supervisor dashboard: draw the board the server pushes over /supervisor/events.
// No libraries: tables are filled by id and the two charts are plain SVG.
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const CLASSES = ["senior", "other", "all"];
  const STATES = ["available", "offered", "on_call", "wrap_up", "away"];
  // calls that never reached a queue (dashboard.ROW_FIELDS): every caller counted
  const UNROUTED = ["ivr_abandoned", "booked_callback", "ah_duty", "ah_hangup", "complaint_recorded"];

  function $(id) { return document.getElementById(id); }

  function set(id, text) {
    const el = $(id);
    if (el && el.textContent !== String(text)) el.textContent = text;
    return el;
  }

  function wait(s) {
    s = Math.max(0, Math.floor(s || 0));
    const two = function (n) { return (n < 10 ? "0" : "") + n; };
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h ? h + ":" + two(m) + ":" + two(s % 60) : m + ":" + two(s % 60);
  }

  function seconds(v) { return v === null || v === undefined ? "—" : v.toFixed(1) + " s"; }
  // mean, then the 90th percentile as "at most" (the bound of its histogram bucket)
  function tth(mean, p90) {
    if (mean === null || mean === undefined) return "—";
    return seconds(mean) + (p90 === null || p90 === undefined ? "" : " / ≤" + p90.toFixed(0) + " s");
  }
  function percent(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%"; }

  function level(id, value, targetPercent) {
    const el = set(id, percent(value));
    if (!el) return;
    el.classList.toggle("sl-ok", value !== null && targetPercent && value * 100 >= targetPercent);
    el.classList.toggle("sl-miss", value !== null && targetPercent && value * 100 < targetPercent);
  }

  function classes(board) {
    const all = board.all;
    const live = {
      senior: [all.seniors_waiting, wait(all.seniors_longest_wait_s)],
      other: [all.others_waiting, "—"],
      all: [all.waiting, wait(all.longest_wait_s)],
    };
    const seniorTarget = (board.queues.find(function (q) { return q.name === "senior"; }) || {}).sl_percent;
    CLASSES.forEach(function (c) {
      const f = all.today[c];
      set("c-" + c + "-waiting", live[c][0]);
      set("c-" + c + "-longest", live[c][1]);
      set("c-" + c + "-offered", f.offered);
      set("c-" + c + "-answered", f.answered);
      set("c-" + c + "-abandoned", f.abandoned);
      set("c-" + c + "-asa", seconds(f.asa_s));
      set("c-" + c + "-tth", tth(f.time_to_human_s, f.time_to_human_p90_s));
      level("c-" + c + "-sl", f.service_level, c === "senior" ? seniorTarget : null);
      set("c-" + c + "-abandon-rate", percent(f.abandon_rate));
      set("c-" + c + "-max-wait", wait(f.max_wait_s));
      UNROUTED.forEach(function (k) { set("u-" + c + "-" + k, f[k]); });
    });
    const over = $("c-senior-longest");
    if (over) over.classList.toggle("alert", all.senior_over_target);
    STATES.forEach(function (s) { set("agents-" + s, all.agents[s]); });
    set("callbacks-retrying", all.callbacks_retrying);
    set("callbacks-pending", all.callbacks_pending);
    set("calls-unreported", all.today.all.unreported);
  }

  function queues(board) {
    board.queues.forEach(function (q) {
      const id = "q-" + q.name;
      const f = q.today.all;
      set(id + "-waiting", q.waiting + " (" + q.seniors_waiting + ")");
      const longest = set(id + "-longest",
        wait(q.longest_wait_s) + " (" + wait(q.seniors_longest_wait_s) + ")");
      if (longest) longest.classList.toggle("alert", q.senior_over_target);
      ["available", "wrap_up", "away"].forEach(function (s) { set(id + "-" + s, q.agents[s]); });
      set(id + "-on_call", q.agents.on_call + q.agents.offered);
      set(id + "-offered", f.offered);
      set(id + "-answered", f.answered);
      set(id + "-abandoned", f.abandoned);
      set(id + "-asa", seconds(f.asa_s));
      level(id + "-sl", f.service_level, q.sl_percent);
      (q.ladder || []).forEach(function (_, i) {
        const rung = $("ladder-" + q.name + "-" + (i + 1));
        if (rung) rung.classList.toggle("reached", i + 1 === q.longest_rung);
      });
      set(id + "-senior-waiting", q.seniors_waiting);
      set(id + "-other-waiting", q.others_waiting);
      ["senior", "other"].forEach(function (c) {
        const g = q.today[c];
        set(id + "-" + c + "-offered", g.offered);
        set(id + "-" + c + "-answered", g.answered);
        set(id + "-" + c + "-abandoned", g.abandoned);
        set(id + "-" + c + "-asa", seconds(g.asa_s));
        level(id + "-" + c + "-sl", g.service_level, q.sl_percent);
      });
    });
  }

  function alert(board) {
    const banner = $("senior-alert");
    if (!banner) return;
    const all = board.all;
    banner.hidden = !all.senior_over_target;
    if (all.senior_over_target) {
      banner.textContent = banner.dataset.text
        .replace("{wait}", wait(all.seniors_longest_wait_s))
        .replace("{target}", board.senior_target_s);
    }
  }

  // The alerts holding now (routing/reporting/alerts.py), in the page's language, oldest first.
  function alerts(list) {
    const ul = $("alerts");
    if (!ul) return;
    while (ul.firstChild) ul.removeChild(ul.firstChild);
    (list || []).forEach(function (a) {
      const li = document.createElement("li");
      li.id = "alert-" + a.id.replace(/[^A-Za-z0-9_-]/g, "-");
      li.className = "alert-" + a.rule;
      const since = new Date(a.since);
      const two = function (n) { return (n < 10 ? "0" : "") + n; };
      li.textContent = (ul.dataset.lang === "zh" ? a.zh : a.en) + " · " +
        ul.dataset.since.replace("{time}", two(since.getHours()) + ":" + two(since.getMinutes()));
      ul.appendChild(li);
    });
    $("alerts-section").hidden = !(list && list.length);
  }

  function el(name, attrs, text) {
    const node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clear(svg) { while (svg.firstChild) svg.removeChild(svg.firstChild); }

  // Axes and a y scale for a chart of `max` at most; returns the y of a value.
  function frame(svg, max) {
    const top = 10, bottom = 190, left = 36;
    const y = function (v) { return bottom - (bottom - top) * v / max; };
    [0, max / 2, max].forEach(function (v) {
      svg.appendChild(el("line", { x1: left, x2: 595, y1: y(v), y2: y(v), stroke: "#d5dbe3" }));
      svg.appendChild(el("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end" },
        String(Math.round(v * 10) / 10)));
    });
    return y;
  }

  function histogram(board) {
    const svg = $("histogram");
    if (!svg) return;
    clear(svg);
    const h = board.histogram;
    const labels = h.bounds_s.map(function (b, i) {
      return (i === 0 ? "<" : (h.bounds_s[i - 1]) + "–") + b + "s";
    }).concat(["≥" + h.bounds_s[h.bounds_s.length - 1] + "s"]);
    const max = Math.max(1, Math.max.apply(null, h.senior.concat(h.other)));
    const y = frame(svg, max);
    const slot = (595 - 40) / labels.length;
    labels.forEach(function (label, i) {
      const x = 40 + i * slot;
      const w = slot * 0.38;
      [["senior", "#7a1fa2", 0], ["other", "#0b5cad", 1]].forEach(function (s) {
        const v = h[s[0]][i] || 0;
        svg.appendChild(el("rect", {
          x: x + s[2] * w + slot * 0.1, y: y(v), width: w, height: 190 - y(v), fill: s[1],
          "data-class": s[0], "data-bucket": i,
        }));
      });
      svg.appendChild(el("text", { x: x + slot / 2, y: 206, "text-anchor": "middle" }, label));
    });
  }

  function intervals(board) {
    const svg = $("intervals");
    if (!svg) return;
    clear(svg);
    const rows = board.intervals;
    const totals = rows.map(function (r) { return r.s[0] + r.o[0]; });
    const max = Math.max(1, Math.max.apply(null, totals));
    const y = frame(svg, max);
    const slot = (595 - 40) / Math.max(1, rows.length);
    const every = Math.max(1, Math.round(rows.length / 12));
    rows.forEach(function (r, i) {
      const x = 40 + i * slot;
      const seniors = r.s[0], others = r.o[0];
      if (seniors + others > 0) {
        svg.appendChild(el("rect", { x: x, y: y(seniors), width: slot * 0.8, height: 190 - y(seniors), fill: "#7a1fa2" }));
        svg.appendChild(el("rect", { x: x, y: y(seniors + others), width: slot * 0.8, height: y(seniors) - y(seniors + others), fill: "#0b5cad" }));
      }
      if (i % every === 0) {
        svg.appendChild(el("text", { x: x, y: 206 }, r.t));
      }
    });
  }

  // -- agents, and forcing their state ---------------------------------------------------------

  const SETTABLE = ["available", "away", "offline"];
  let received = Date.now();  // when the last board came: the durations count on from it
  let drawnAgents = "";
  let pending = null;  // {id, name, state} the confirmation dialog is asking about

  function data(el, name) {
    try { return JSON.parse(el.dataset[name] || "{}"); } catch (e) { return {}; }
  }

  function fill(template, values) {
    return Object.keys(values).reduce(function (text, k) {
      return text.split("{" + k + "}").join(values[k]);
    }, template || "");
  }

  function cell(row, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;  // names are data, never markup
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  // An open line (docs/time-to-human.md, "Open lines"): wanted and connected, wanted and
  // not (placing, or dropped and placed again: its callers are rung), or not wanted.
  function lineOf(a) {
    if (!a.persistent || a.state === "offline") return "none";
    return a.open_line_connected ? "open" : "down";
  }

  function agentRow(a, names, labels, lines) {
    const row = document.createElement("tr");
    row.id = "agent-" + a.id;
    cell(row, a.name + " (" + a.id + ")");
    // an agent kept away by their softphone says so: offered nobody until it registers
    const why = a.away_because ? " (" + a.away_because + ")" : "";
    const state = cell(row, (names[a.state] || a.state) + why, "state " + a.state);
    state.id = "agent-" + a.id + "-state";
    state.dataset.state = a.state;
    const since = cell(row, wait(a.in_state_s), "since");
    since.id = "agent-" + a.id + "-since";
    since.dataset.seconds = a.in_state_s;
    cell(row, a.call_sid || "—", "call");
    const line = cell(row, lines[lineOf(a)] || "—", "line " + lineOf(a));
    line.id = "agent-" + a.id + "-line";
    line.dataset.line = lineOf(a);
    const codes = a.wrap_up_today || {};  // the reasons given after today's calls
    cell(row, Object.keys(codes).sort().map(function (c) { return c + " " + codes[c]; })
      .join(" · ") || "—", "wrap-ups");
    const buttons = cell(row, "", "force-buttons");
    SETTABLE.forEach(function (s) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "force";
      b.id = "force-" + a.id + "-" + s;
      b.textContent = labels[s] || s;
      b.dataset.agent = a.id;
      b.dataset.name = a.name;
      b.dataset.state = s;
      b.dataset.call = a.call_sid || "";
      b.dataset.held = a.state === "offered" ? "offer" : a.state === "on_call" ? "call" : "";
      b.disabled = a.state === s && !a.call_sid;  // nothing to change
      buttons.appendChild(b);
    });
    return row;
  }

  function agents(list) {
    const table = $("agents");
    if (!table || !list) return;
    received = Date.now();
    const steady = JSON.stringify(list.map(function (a) {
      return [a.id, a.name, a.state, a.since, a.call_sid, a.wrap_up_today, lineOf(a),
        a.away_because];
    }));
    if (steady === drawnAgents) {
      list.forEach(function (a) {
        const since = $("agent-" + a.id + "-since");
        if (since) since.dataset.seconds = a.in_state_s;
      });
      tick();
      return;
    }
    drawnAgents = steady;
    const names = data(table, "states"), labels = data(table, "force");
    const lines = data(table, "lines");
    const body = table.tBodies[0];
    while (body.firstChild) body.removeChild(body.firstChild);
    list.forEach(function (a) { body.appendChild(agentRow(a, names, labels, lines)); });
  }

  function tick() {
    const gone = (Date.now() - received) / 1000;
    document.querySelectorAll("#agents td.since").forEach(function (td) {
      const text = wait(Number(td.dataset.seconds) + gone);
      if (td.textContent !== text) td.textContent = text;
    });
  }

  function forcedLine(list, c, names) {
    const li = document.createElement("li");
    let text = fill(list.dataset.line, {
      at: new Date(c.at).toLocaleString(), by: c.by + (c.via === "cli" ? list.dataset.viaCli : ""),
      agent: c.agent_id, from: names[c.from_state] || c.from_state,
      to: names[c.to_state] || c.to_state,
    });
    if (c.ended === "offer") text += fill(list.dataset.endedOffer, { call: c.call_sid });
    if (c.ended === "call") text += fill(list.dataset.endedCall, { call: c.call_sid });
    li.textContent = text;
    li.className = "forced-line";
    return li;
  }

  function forced(changes) {
    const list = $("forced");
    if (!list || !changes) return;
    const names = data($("agents"), "states");
    while (list.firstChild) list.removeChild(list.firstChild);
    changes.forEach(function (c) { list.appendChild(forcedLine(list, c, names)); });
    if (!changes.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = list.dataset.empty;
      list.appendChild(li);
    }
  }

  function ask(button) {
    const dialog = $("force-dialog"), question = $("force-question");
    const consequence = $("force-consequence");
    const names = data($("agents"), "states");
    pending = { id: button.dataset.agent, state: button.dataset.state };
    question.textContent = fill(question.dataset.ask, {
      name: button.dataset.name, id: pending.id, state: names[pending.state] || pending.state,
    });
    const held = button.dataset.held;
    consequence.hidden = !held;
    consequence.textContent = held ? fill(question.dataset[held === "offer" ? "endsOffer" : "endsCall"],
      { call: button.dataset.call }) : "";
    dialog.returnValue = "";
    dialog.showModal();
  }

  function failed(message) {
    const box = $("force-error");
    box.textContent = message;
    box.hidden = !message;
  }

  function send(choice) {
    const token = document.querySelector('meta[name="csrf-token"]');
    fetch("/api/v1/agents/" + encodeURIComponent(choice.id) + "/state", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRF-Token": token ? token.content : "" },
      body: JSON.stringify({ state: choice.state }),
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      if (!answer.ok) { failed(answer.body.error || "error"); return; }
      failed("");
      agents(answer.body.agents);
      forced(answer.body.forced);
    }).catch(function (e) { failed(String(e)); });
  }

  function wireForcing() {
    const table = $("agents"), dialog = $("force-dialog");
    if (!table || !dialog) return;
    table.addEventListener("click", function (event) {
      const button = event.target.closest("button.force");
      if (button && !button.disabled) ask(button);
    });
    dialog.addEventListener("close", function () {
      const choice = pending;
      pending = null;
      if (choice && dialog.returnValue === "confirm") send(choice);
    });
    window.setInterval(tick, 1000);
  }

  function asOf(board) {
    const d = new Date(board.at);
    set("as-of", isNaN(d) ? board.at : d.toLocaleTimeString());
  }

  function draw(board) {
    if (!board || board.error) return;
    classes(board);
    queues(board);
    alert(board);
    alerts(board.alerts);
    histogram(board);
    intervals(board);
    agents(board.agents);
    forced(board.forced);
    asOf(board);
  }

  function live(on) {
    const badge = $("live");
    if (!badge) return;
    badge.textContent = on ? badge.dataset.on : badge.dataset.off;
    badge.classList.toggle("on", on);
    badge.classList.toggle("off", !on);
  }

  function start() {
    wireForcing();
    const initial = $("board-data");
    if (initial) {
      try { draw(JSON.parse(initial.textContent)); } catch (e) { /* the stream redraws */ }
    }
    if (!window.EventSource) return;
    const source = new EventSource("/supervisor/events");
    source.onopen = function () { live(true); };
    source.onerror = function () {
      live(false);
      // Closed for good (signed out, or the server has all the live pages it serves, 429):
      // reload, spread over seconds, to sign in again or take a free stream.
      if (source.readyState === EventSource.CLOSED) {
        window.setTimeout(function () { window.location.reload(); }, 5000 + Math.random() * 10000);
      }
    };
    source.onmessage = function (event) {
      live(true);
      draw(JSON.parse(event.data));
    };
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
