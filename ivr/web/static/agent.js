// Agent console: follow the agent's state over server-sent events and set it with CSRF-checked
// POSTs. The server renders the first state; this only keeps the page up to date.
(function () {
  "use strict";

  var texts = JSON.parse(document.getElementById("agent-texts").textContent);
  var form = document.getElementById("state-form");
  var live = document.getElementById("live");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var baseTitle = document.title;
  var receivedAt = Date.now();

  function byId(id) { return document.getElementById(id); }

  function show(el, visible) { if (el) { el.hidden = !visible; } }

  function setText(id, value) {
    var el = byId(id);
    if (el) { el.textContent = value === null || value === undefined || value === "" ? "—" : value; }
  }

  function duration(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var m = Math.floor(s / 60);
    return m > 0 ? m + " " + texts.min + " " + (s % 60) + " " + texts.sec : s + " " + texts.sec;
  }

  function render(state) {
    receivedAt = Date.now();
    document.body.className = document.body.className.replace(/\bstate-\S+/g, "").trim() +
      " state-" + state.state;
    show(byId("elderly-banner"), !!state.elderly);
    var pill = byId("agent-state");
    if (pill) { pill.textContent = state.state_name; pill.setAttribute("data-state", state.state); }
    byId("state-clock") && byId("state-clock").setAttribute("data-seconds", state.in_state_s || 0);
    ["available", "ready", "away", "offline"].forEach(function (choice) {
      show(byId("btn-" + choice), (state.can || []).indexOf(choice) >= 0);
    });
    show(byId("wrap-note"), state.wrap_up_left_s !== null && state.wrap_up_left_s !== undefined);
    var wrap = byId("wrap-left");
    if (wrap) { wrap.setAttribute("data-seconds", state.wrap_up_left_s || 0); }
    var call = state.call;
    show(byId("caller-card"), !!call);
    show(byId("no-caller"), !call);
    if (call) {
      setText("caller-status", call.status === "on_call" ? texts.on_line : texts.incoming);
      setText("caller-name", call.name);
      setText("caller-number", call.number);
      setText("caller-age", call.age);
      setText("caller-dialect", call.dialect_name);
      setText("caller-queue", call.queue_name);
      byId("caller-waited").setAttribute("data-seconds", call.waited_s);
      var talking = call.talk_s !== null && call.talk_s !== undefined;
      document.querySelectorAll(".caller-facts .talk").forEach(function (el) { show(el, talking); });
      byId("caller-talk").setAttribute("data-seconds", talking ? call.talk_s : 0);
      show(byId("caller-callback"), !!call.callback && !call.campaign);
      show(byId("caller-visit"), !!call.campaign);  // a return visit: why we call
      setText("caller-reason", call.reason || "");
    }
    renderLine(state);
    document.title = state.state === "offered" ? texts.title_ringing + " · " + baseTitle : baseTitle;
    tick();
    // The phone (phone.js) follows the same state: ringing, the call's end, wrap-up.
    document.dispatchEvent(new CustomEvent("agent-state", { detail: state }));
  }

  // The open line: the toggle, its state, and what the agent hears while it waits.
  function renderLine(state) {
    var box = byId("open-line");
    var line = state.line;
    if (!box || !line) { return; }
    var names = JSON.parse(box.getAttribute("data-names"));
    box.setAttribute("data-line", line.state);
    var pill = byId("line-state");
    pill.setAttribute("data-line", line.state);
    pill.textContent = names[line.state] || line.state;
    var toggle = byId("btn-open-line");
    toggle.setAttribute("aria-checked", String(!!line.wanted));
    toggle.textContent = toggle.getAttribute(line.wanted ? "data-on" : "data-off");
    toggle.disabled = !!(line.wanted && state.call);  // a caller is on it: after the call
    show(byId("line-idle"), line.state === "open" && !state.call);
    show(byId("line-connecting"), line.state === "connecting");
    var idle = byId("line-idle-clock");
    if (idle) { idle.setAttribute("data-seconds", state.in_state_s || 0); }
  }

  function toggleLine() {
    var toggle = byId("btn-open-line");
    var on = toggle.getAttribute("aria-checked") !== "true";
    var body = new URLSearchParams();
    body.append("on", on ? "1" : "0");
    // the console's phone connects the line itself (phone.js): REST leaves it to the phone
    if (on && window.silverlineLine && window.silverlineLine.canConnect()) { body.append("device", "1"); }
    body.append("csrf_token", csrf);
    toggle.disabled = true;
    fetch("/agent/open-line", {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data.error || response.status); }
        return data;
      });
    }).then(function (state) {
      show(byId("line-error"), false);
      render(state);
    }).catch(function (error) {
      var box = byId("line-error");
      box.textContent = texts.line_failed + " " + error.message;
      show(box, true);
      toggle.disabled = false;
    });
  }

  // Running clocks count on from the last state the server sent.
  function tick() {
    var passed = (Date.now() - receivedAt) / 1000;
    var waiting = document.body.className.indexOf("state-offered") >= 0;
    var clocks = [["state-clock", true], ["caller-waited", waiting], ["caller-talk", true],
                  ["line-idle-clock", true]];
    clocks.forEach(function (pair) {
      var el = byId(pair[0]);
      if (el) {
        var base = Number(el.getAttribute("data-seconds") || 0);
        el.textContent = duration(base + (pair[1] ? passed : 0));
      }
    });
    var wrap = byId("wrap-left");
    if (wrap) {
      wrap.textContent = Math.max(0, Math.round(Number(wrap.getAttribute("data-seconds")) - passed));
    }
  }

  function setLive(mode) {
    live.setAttribute("data-live", mode);
    live.className = "live " + (mode === "on" ? "on" : "off");
    live.textContent = mode === "on" ? texts.live : (mode === "closed" ? texts.offline_conn
      : texts.reconnecting);
  }

  function follow() {
    if (!window.EventSource) { return; }
    var source = new EventSource(form ? form.getAttribute("action").replace(/state$/, "events")
      : "/agent/events");
    source.addEventListener("open", function () { setLive("on"); });
    source.addEventListener("state", function (event) {
      setLive("on");
      render(JSON.parse(event.data));
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        setLive("closed");
        // Signed out or the session ended: the page itself sends the agent to sign in. Or
        // the server has all the live pages it serves (429): try again, spread over seconds.
        window.setTimeout(function () { window.location.reload(); }, 5000 + Math.random() * 10000);
      } else {
        setLive("reconnecting");
      }
    });
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || !window.fetch) { return; }
      event.preventDefault();
      var body = new URLSearchParams();
      body.append("state", button.value);
      // a wanted open line is connected by the console's phone itself (phone.js)
      if (window.silverlineLine && window.silverlineLine.canConnect()) { body.append("device", "1"); }
      body.append("csrf_token", csrf);
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      fetch(form.getAttribute("action"), {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
      }).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("application/json") < 0) { throw new Error(response.status); }
        return response.json();
      }).then(render).catch(function () {
        window.alert(texts.failed);
      }).finally(function () {
        form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      });
    });
  }

  if (byId("btn-open-line")) { byId("btn-open-line").addEventListener("click", toggleLine); }
  render(JSON.parse(document.getElementById("agent-initial").textContent));
  window.setInterval(tick, 1000);
  follow();
})();
