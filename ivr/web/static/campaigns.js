// The dashboard's return-visit campaigns (docs/campaigns.md): each campaign's progress, from
// /api/v1/campaigns when the page opens, on "Refresh" and every minute; never on the live
// board's stream (a campaign's figures are counted from all its customers).
(function () {
  "use strict";

  const FIELDS = ["total", "pending", "reached", "confirmed", "escalate", "wrong_person",
                  "call_back_later", "refused", "failed"];

  function $(id) { return document.getElementById(id); }

  function cell(tr, text) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function draw(campaigns) {
    const body = $("campaigns").querySelector("tbody");
    while (body.firstChild) body.removeChild(body.firstChild);
    campaigns.forEach(function (c) {
      const tr = document.createElement("tr");
      tr.id = "campaign-" + c.name;
      cell(tr, c.name);
      cell(tr, c.reason);
      cell(tr, c.state + " · " + c.hours);
      FIELDS.forEach(function (f) { cell(tr, String(c.progress[f])).className = "num " + f; });
      const link = document.createElement("a");
      link.href = "/supervisor/campaigns/" + encodeURIComponent(c.name) + ".csv";
      link.textContent = "CSV";
      cell(tr, "").appendChild(link);
      body.appendChild(tr);
    });
    $("campaigns-empty").hidden = campaigns.length > 0;
  }

  function load() {
    fetch("/api/v1/campaigns", { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) { $("campaigns-error").hidden = true; draw(data.campaigns); })
      .catch(function () { $("campaigns-error").hidden = false; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!$("campaigns")) return;
    $("campaigns-refresh").addEventListener("click", load);
    load();
    setInterval(load, 60000);
  });
})();
