// The dashboard's list of today's abandoned callers, and its one-click call-back.
// Fetched when the page opens and on "Refresh", never on the live board's stream.
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }

  function wait(s) {
    s = Math.max(0, Math.floor(s || 0));
    return Math.floor(s / 60) + ":" + (s % 60 < 10 ? "0" : "") + (s % 60);
  }

  function clock(iso) {
    const d = new Date(iso);
    const two = function (n) { return (n < 10 ? "0" : "") + n; };
    return two(d.getHours()) + ":" + two(d.getMinutes());
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function row(c, texts) {
    const tr = document.createElement("tr");
    tr.id = "ab-" + c.call_sid;
    tr.className = c.senior ? "senior" : "other";
    cell(tr, (c.name || "—") + (c.senior ? " · " + texts.senior : ""));
    cell(tr, c.number || "—");
    cell(tr, c.age === null ? "—" : String(c.age));
    cell(tr, c.queue);
    cell(tr, wait(c.waited_s));
    cell(tr, clock(c.abandoned_at));
    const last = cell(tr, c.can_call_back ? "" : texts[c.callback] || "—");
    last.className = "callback-state";
    if (c.can_call_back) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "callback";
      b.id = "callback-" + c.call_sid;
      b.dataset.sid = c.call_sid;
      b.textContent = texts.call_back;
      last.appendChild(b);
    }
    return tr;
  }

  function draw(list) {
    const table = $("abandoned");
    const texts = JSON.parse(table.dataset.texts);
    const body = table.querySelector("tbody");
    while (body.firstChild) body.removeChild(body.firstChild);
    list.callers.forEach(function (c) { body.appendChild(row(c, texts)); });
    $("abandoned-empty").hidden = list.callers.length > 0;
  }

  function failed(message) {
    const box = $("abandoned-error");
    box.textContent = message;
    box.hidden = false;
  }

  function call(method, url) {
    const token = document.querySelector('meta[name="csrf-token"]');
    return fetch(url, {
      method: method,
      headers: { "X-CSRF-Token": token ? token.content : "", "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.error || response.statusText);
        $("abandoned-error").hidden = true;
        draw(body);
      });
    }).catch(function (e) { failed(e.message || String(e)); });
  }

  function load() { return call("GET", "/api/v1/abandoned"); }

  function start() {
    if (!$("abandoned")) return;
    $("abandoned-refresh").addEventListener("click", load);
    $("abandoned").addEventListener("click", function (event) {
      const button = event.target.closest("button.callback");
      if (!button) return;
      button.disabled = true;  // one click books it once
      call("POST", "/api/v1/abandoned/" + encodeURIComponent(button.dataset.sid) + "/callback");
    });
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
