// Extends the live tail's table from the server-sent events of
// /console/tail/events; keeps at most 500 rows.
(function () {
  "use strict";
  var table = document.getElementById("tail");
  if (!table || typeof EventSource === "undefined") return;
  var body = table.tBodies[0], status = document.getElementById("tail-status");
  var pause = document.getElementById("tail-pause"), errorsOnly = document.getElementById("tail-errors");
  var paused = false, held = [], missed = 0, maxRows = 500;
  function cell(tr, text, cls) {
    var td = tr.insertCell(-1);
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }
  function show(r) {
    var tr = document.createElement("tr");
    tr.dataset.seq = r.seq;
    if (r.outcome !== "ok") tr.className = "failed";
    cell(tr, r.time); cell(tr, r.operation); cell(tr, r.outcome); cell(tr, r.status, "num");
    cell(tr, r.account_id); cell(tr, r.access_key_id); cell(tr, r.duration_ms, "num");
    var code = document.createElement("code");
    code.textContent = r.request_id;
    tr.insertCell(-1).appendChild(code);
    tr.hidden = errorsOnly.checked && r.outcome === "ok";
    body.insertBefore(tr, body.firstChild);
    while (body.rows.length > maxRows) body.deleteRow(-1);
  }
  function say() {
    status.textContent = (paused ? "Paused: " + held.length + " new requests held. " : "Live. ") +
      (missed ? missed + " requests missed while this page fell behind." : "");
  }
  var src = new EventSource("/console/tail/events?after=" + table.dataset.after);
  src.addEventListener("start", say);
  src.addEventListener("request", function (e) {
    var r = JSON.parse(e.data);
    if (paused) held.push(r); else show(r);
    if (paused) say();
  });
  src.addEventListener("missed", function (e) { missed += Number(e.data); say(); });
  src.onerror = function () { status.textContent = "Disconnected: reconnecting…"; };
  pause.addEventListener("click", function () {
    paused = !paused;
    pause.setAttribute("aria-pressed", String(paused));
    pause.textContent = paused ? "Resume" : "Pause";
    if (!paused) { held.forEach(show); held = []; }
    say();
  });
  errorsOnly.addEventListener("change", function () {
    for (var i = 0; i < body.rows.length; i++) {
      var tr = body.rows[i];
      tr.hidden = errorsOnly.checked && tr.className !== "failed";
    }
  });
})();
