// The agent console's phone. On a Twilio account it is the Voice JavaScript SDK
// (static/vendor/twilio-voice-sdk, https://www.twilio.com/docs/voice/sdks/javascript/twiliodevice
// and .../twiliocall): a Device registered with a token from /agent/token, refreshed on
// tokenWillExpire. With no Twilio credentials it is the demo phone: the same buttons drive the
// offline Twilio through /agent/phone. Both give the page one shape of call: accept(), reject(),
// disconnect(), mute(bool), isMuted(), on("accept" | "disconnect" | "cancel" | "reject", fn).
// Wrap-up: after a call the agent picks a reason (and a note) for /agent/wrap-up.
(function () {
  "use strict";

  var configEl = document.getElementById("phone-config");
  if (!configEl) { return; }  // the account is not linked to an agent: no phone
  var cfg = JSON.parse(configEl.textContent);
  var texts = cfg.texts;
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var current = null;  // the call ringing or talking on this phone
  var talkedSid = null;  // the caller last offered to or talking with the agent, for the wrap-up
  var wrapDone = {};  // calls whose wrap-up was submitted
  // The agent's open line (docs/time-to-human.md, "Open lines"): a leg the server places into
  // the agent's own room, which this phone takes by itself; callers then join it with no
  // ringing, and "End call" takes the caller off through the server, keeping the line.
  var line = { wanted: false, state: "off", leg: "" };
  var lineCall = null;  // the Voice SDK's call that is the open line
  // The softphone connects the line itself: an outgoing call through the TwiML App
  // (Device.connect with params naming the purpose, answered by /voice/softphone-line into
  // the agent's room). `connectLine` is set once the phone can; a line the server placed
  // through REST (a leg to take) is the fallback when it cannot.
  var connectLine = null;
  var dialling = false;  // a connect is on its way or up
  window.silverlineLine = { canConnect: function () { return !!connectLine; } };

  function lineFailed() {
    dialling = false;
    post("/agent/open-line", { on: "1", device: "failed" }).catch(function () { /* next beat */ });
  }

  // Connect the line when it is wanted, not placed and not on its way.
  function maybeConnect() {
    if (!connectLine || dialling || lineCall || !line.wanted || line.state !== "connecting" ||
        line.leg) {
      return;
    }
    dialling = true;
    connectLine();
  }
  var lastState = null;  // the console's state last seen

  function byId(id) { return document.getElementById(id); }
  function show(id, visible) { var el = byId(id); if (el) { el.hidden = !visible; } }

  function post(path, fields) {
    var body = new URLSearchParams();
    Object.keys(fields).forEach(function (k) { body.append(k, fields[k]); });
    return fetch(path, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data.error || response.status); }
        return data;
      });
    });
  }

  // The server offers calls only to an agent whose phone is registered: each change is
  // reported, and "registered" beats every 10 s while it lasts (routing/queues/softphones.py)
  var regBeat = null;
  function reportReg(registered) {
    post("/agent/registration", { registered: registered ? "1" : "0" }).catch(function () {});
  }

  function setReg(state, words) {
    if (state === "registered" && !regBeat) {
      reportReg(true);
      regBeat = window.setInterval(function () { reportReg(true); }, 10000);
    } else if (state !== "registered" && state !== "registering" && regBeat) {
      window.clearInterval(regBeat);
      regBeat = null;
      reportReg(false);
    } else if (state === "unregistered" || state === "error") {
      reportReg(false);
    }
    var el = byId("phone-reg");
    if (!el) { return; }
    el.setAttribute("data-reg", state);
    el.textContent = words || texts[state] || state;
  }

  function showError(words) {
    var el = byId("phone-error");
    if (!el) { return; }
    el.textContent = words || "";
    el.hidden = !words;
  }

  // Plain words for the Voice SDK 2.x's errors (https://www.twilio.com/docs/api/errors:
  // 31401 microphone refused, 31402 no usable microphone; 20101 token invalid, 20104 expired,
  // 20151 authentication failed, 31206/31207 the token's limits; 31005/31009/53000/53001 the
  // connection) and for the browser's own getUserMedia errors. SDK 2.x reports the signalling
  // codes 31201/31204/31205 as 20151/20101/20104 (the vendored twilio.min.js maps them):
  // 31201 is an authorization error there, not a microphone one; the old codes are kept for
  // an SDK that passes them through.
  function explain(error) {
    var code = error && error.code;
    var name = error && error.name;
    if (code === 31401 || code === 31208 || name === "NotAllowedError") { return texts.mic_denied; }
    if (code === 31402 || name === "NotFoundError" || name === "NotReadableError") {
      return texts.mic_missing;
    }
    if ([20101, 20104, 20151, 31201, 31204, 31205, 31206, 31207].indexOf(code) >= 0) {
      return texts.token;
    }
    if ([31005, 31009, 53000, 53001].indexOf(code) >= 0) { return texts.network; }
    return texts.other + ((error && (error.message || error.description)) || String(error));
  }

  function buttons(ringing, talking) {
    show("phone-ringing", ringing);
    show("btn-answer", ringing);
    show("btn-decline", ringing);
    show("btn-hangup", talking);
    show("btn-mute", talking);
  }

  // A leg on this phone is the open line: the one the server placed, or, before the console
  // has heard its sid, one that rings while the line is connecting and no caller is offered
  // (a caller offered while the line is down rings the usual way, and is offered first).
  function isLine(sid) {
    if (!line.wanted) { return false; }
    if (sid && sid === line.leg) { return true; }
    return line.state === "connecting" && !(lastState && lastState.call);
  }

  // The caller on the open line: "End call" instead of the phone's Hang up.
  function showLineCall() {
    var call = lastState && lastState.call;
    var onLine = !!(call && call.open_line && call.status === "on_call");
    show("btn-end-call", onLine);
    if (onLine) { show("btn-hangup", false); }
  }

  // A short tone before an automatic answer, so a headset wearer knows a caller is there.
  function tone() {
    return new Promise(function (resolve) {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) { resolve(); return; }
      try {
        var ctx = new Ctx();
        var osc = ctx.createOscillator();
        osc.frequency.value = 880;
        osc.connect(ctx.destination);
        osc.start();
        osc.stop(ctx.currentTime + 0.25);
      } catch (e) { /* no sound device: answer anyway */ }
      window.setTimeout(resolve, 300);
    });
  }

  function incoming(call) {
    var sid = call.parameters && call.parameters.CallSid;  // twiliocall#callparameters
    if (isLine(sid)) {  // the open line: taken at once, no ringing, no call on the phone
      lineCall = call;
      call.on("disconnect", function () { if (lineCall === call) { lineCall = null; } });
      call.accept();
      return;
    }
    current = call;
    buttons(true, false);
    call.on("accept", function () { buttons(false, true); });
    ["disconnect", "cancel", "reject"].forEach(function (name) {
      call.on(name, function () { if (current === call) { current = null; buttons(false, false); } });
    });
    call.on("error", function (error) { showError(explain(error)); });
    if (byId("auto-answer") && byId("auto-answer").checked) {
      tone().then(function () { if (current === call) { call.accept(); } });
    }
  }

  function wire() {
    var answer = byId("btn-answer");
    if (!answer) { return; }
    answer.addEventListener("click", function () { if (current) { current.accept(); } });
    byId("btn-decline").addEventListener("click", function () { if (current) { current.reject(); } });
    byId("btn-hangup").addEventListener("click", function () { if (current) { current.disconnect(); } });
    byId("btn-end-call").addEventListener("click", function () {
      var call = lastState && lastState.call;
      if (!call) { return; }
      byId("btn-end-call").disabled = true;
      post("/agent/end-call", { sid: call.sid }).then(function () {
        show("btn-end-call", false);
      }).catch(function (error) { showError(texts.failed + " " + error.message); })
        .finally(function () { byId("btn-end-call").disabled = false; });
    });
    byId("btn-mute").addEventListener("click", function () {
      if (!current) { return; }
      var muted = !current.isMuted();
      current.mute(muted);
      byId("btn-mute").setAttribute("aria-pressed", String(muted));
      byId("btn-mute").textContent = muted ? texts.unmute : texts.mute;
    });
    byId("auto-answer").addEventListener("change", function (event) {
      post("/agent/auto-answer", { on: event.target.checked ? "1" : "0" }).catch(function () {
        event.target.checked = !event.target.checked;
        showError(texts.failed);
      });
    });
  }

  // -- a Twilio account: the Voice JavaScript SDK -------------------------------------------

  function token() {
    return fetch("/agent/token", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(texts.no_token); }
        return response.json();
      });
  }

  // Ask for the microphone once, before any call: a refusal is explained now, not at Answer.
  function checkMicrophone() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return; }
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
    }).catch(function (error) { showError(explain(error)); });
  }

  function startTwilio() {
    setReg("registering");
    token().then(function (t) {
      var device = new window.Twilio.Device(t.token, { closeProtection: true });
      device.on("registering", function () { setReg("registering"); });
      device.on("registered", function () { setReg("registered"); });
      device.on("unregistered", function () { setReg("unregistered"); });
      device.on("error", function (error) { setReg("error", explain(error)); showError(explain(error)); });
      device.on("incoming", incoming);
      device.on("tokenWillExpire", function () {
        token().then(function (fresh) { device.updateToken(fresh.token); })
          .catch(function (error) { showError(explain(error)); });
      });
      device.register();
      window.silverlinePhone = device;
      connectLine = function () {
        device.connect({ params: { purpose: "open-line" } }).then(function (call) {
          lineCall = call;
          call.on("disconnect", function () { if (lineCall === call) { lineCall = null; dialling = false; } });
          call.on("error", function (error) { showError(explain(error)); });
          call.on("cancel", lineFailed);
          call.on("reject", lineFailed);
        }).catch(function (error) { showError(explain(error)); lineFailed(); });
      };
      maybeConnect();
    }).catch(function (error) { setReg("error", texts.no_token); showError(error.message); });
    checkMicrophone();
  }

  // -- no Twilio account: the demo phone drives the offline Twilio --------------------------

  function DemoCall(sid) {
    var handlers = {};
    var muted = false;
    var self = this;
    function emit(name) { (handlers[name] || []).forEach(function (fn) { fn(self); }); }
    function press(button, then) {
      post("/agent/phone", { button: button, sid: sid }).then(then)
        .catch(function () { showError(texts.failed); });
    }
    this.sid = sid;
    this.on = function (name, fn) { (handlers[name] = handlers[name] || []).push(fn); };
    this.accept = function () { press("answer", function () { emit("accept"); }); };
    this.reject = function () { press("decline", function () { emit("reject"); }); };
    this.disconnect = function () { press("hangup", function () { emit("disconnect"); }); };
    this.mute = function (on) { muted = !!on; };  // no audio in the demo: the button only
    this.isMuted = function () { return muted; };
    this.emit = emit;
  }

  // With a local Twilio (demo mode's `silverline serve` starts one) the server hands the beat
  // and the buttons to it, and its answer says which of the agent's legs rings or talks: the
  // phone rings only once the agent's leg is really placed, and a button acts on that leg.
  // Without one the server answers in the same shape from what an offline Twilio on its store
  // wrote (the call, ringing only while that Twilio rings the phone). Either way Answer shows
  // for a phone that rings, never for an offer alone (on <Dial> the agent is offered seconds
  // before their phone rings). While the agent has a call the page asks every WATCH_MS, so a
  // ring shows within that.
  var WATCH_MS = 400;

  function startDemo() {
    var local = !!cfg.local;  // the server says whether a local Twilio takes the phone
    var watching = null;

    function follow(data) {
      if (!data || data.ringing === undefined) { return; }
      if (data.ringing && isLine(data.ringing)) {  // the open line: answered by itself
        post("/agent/phone", { button: "answer", sid: data.ringing }).then(follow)
          .catch(function () { setReg("error", texts.network); });
        return;
      }
      if (data.talking && isLine(data.talking)) {  // the line in its room: not a call
        if (current) { var was = current; current = null; was.emit("disconnect"); }
        buttons(false, false);
        showLineCall();
        return;
      }
      if (data.ringing && (!current || current.sid !== data.ringing)) {
        incoming(new DemoCall(data.ringing));
      } else if (data.talking && current && current.sid === data.talking) {
        buttons(false, true);
      } else if (!data.ringing && !data.talking && current) {
        var gone = current;  // the caller hung up, the agent's leg rang out, or it ended
        current = null;
        gone.emit("disconnect");
        buttons(false, false);
      }
    }

    function beat() {
      return post("/agent/phone", { button: "on" }).then(function (data) {
        setReg("demo");
        follow(data);
      }).catch(function () { setReg("error", texts.network); });
    }

    function watch(on) {
      if (on && !watching) {
        watching = window.setInterval(beat, WATCH_MS);
        beat();
      } else if (!on && watching) {
        window.clearInterval(watching);
        watching = null;
        beat();
      }
    }

    if (local) {  // the local Twilio's Device.connect: an outgoing call to its TwiML App
      connectLine = function () {
        post("/agent/phone", { button: "connect", purpose: "open-line" }).then(function (data) {
          follow(data);
          watch(true);  // seen open within WATCH_MS
        }).catch(lineFailed);
      };
    }
    beat();
    window.setInterval(beat, cfg.beat_s * 1000);
    document.addEventListener("agent-state", function (event) {
      // the line is watched while it connects, so that it is taken within WATCH_MS
      watch(!!event.detail.call || line.state === "connecting");
    });
  }

  // -- wrap-up ------------------------------------------------------------------------------

  function followWrapUp() {
    var form = byId("wrap-up-form");
    if (!form) { return; }
    document.addEventListener("agent-state", function (event) {
      var state = event.detail;
      // The last call seen, ringing or talking: a short call may go from ringing to wrap-up
      // between two looks of the event stream. The server checks that the agent answered it.
      if (state.call) { talkedSid = state.call.sid; }
      var asking = state.state === "wrap_up" && talkedSid && !wrapDone[talkedSid];
      form.hidden = !asking;
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var sid = talkedSid;
      post("/agent/wrap-up", {
        sid: sid, code: byId("wrap-code").value, note: byId("wrap-note-text").value,
      }).then(function () {
        wrapDone[sid] = true;
        form.hidden = true;
        form.reset();
      }).catch(function (error) { showError(texts.failed + " " + error.message); });
    });
  }

  document.addEventListener("agent-state", function (event) {
    lastState = event.detail;
    line = event.detail.line || line;
    // connected, or no longer wanted: a later "connecting" with no leg may connect again
    if (!line.wanted || line.state === "open") { dialling = false; }
    showLineCall();
    maybeConnect();
  });
  wire();
  followWrapUp();
  if (cfg.mode === "twilio" && window.Twilio && window.Twilio.Device) {
    startTwilio();
  } else if (cfg.mode === "twilio") {
    setReg("error", texts.other + "Twilio Voice SDK");
  } else if (cfg.mode === "demo") {
    startDemo();
  }
  // agent.js rendered the first state before this script ran: render it again for the phone.
  var initial = document.getElementById("agent-initial");
  if (initial) {
    document.dispatchEvent(new CustomEvent("agent-state", { detail: JSON.parse(initial.textContent) }));
  }
})();
