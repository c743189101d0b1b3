// benchrig: the only script of the dashboards (no inline scripts: the
// Content-Security-Policy forbids them). Pages opt into behaviour with
// data- attributes.
"use strict";

// ---- run page: live updates (web/pages_run*.go) ----
// An element with data-events (the run's event stream) and data-live-src
// (its live part) is refreshed when a trial or the run finishes: at most
// one fetch a second, the last one after the run ended.
(function () {
  function follow(el) {
    var src = el.getAttribute("data-live-src");
    var es = new EventSource(el.getAttribute("data-events"));
    var last = 0, timer = null, ended = false;
    function refresh() {
      timer = null;
      last = Date.now();
      fetch(src, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          el.innerHTML = html;
          if (ended) { el.removeAttribute("data-events"); el.querySelectorAll("[data-live-note]").forEach(function (n) { n.remove(); }); }
        })
        .catch(function () { /* the next event tries again */ });
    }
    function schedule() {
      if (timer) return;
      var wait = Math.max(0, 1000 - (Date.now() - last));
      timer = setTimeout(refresh, wait);
    }
    ["trial-finished", "trial-started", "run-started"].forEach(function (k) { es.addEventListener(k, schedule); });
    es.addEventListener("run-finished", function () { ended = true; es.close(); schedule(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-events][data-live-src]").forEach(follow);
  });
})();
// ---- end of run page ----
