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
// ---------------------------------------------------------------------
// Site pages (h-site): the runs list follows its active runs; the submit
// form sends a spec with a bearer token and shows its errors at their
// lines.
// ---------------------------------------------------------------------
(function () {
  // A table body with data-poll is fetched again every data-poll-seconds
  // while one of its rows is data-active (a queued or running run), and
  // replaced by the server's rows (escaped by its templates).
  function follow(el) {
    const secs = Number(el.dataset.pollSeconds) || 5;
    const tick = async function () {
      try {
        const r = await fetch(el.dataset.poll, { headers: { Accept: "text/html" } });
        if (r.redirected || !r.ok) {
          return; // logged out or gone: leave the page as it is
        }
        el.innerHTML = await r.text();
      } catch (e) {
        // the server went away for a moment: try again next time
      }
      if (el.querySelector("[data-active]")) {
        setTimeout(tick, secs * 1000);
      }
    };
    if (el.querySelector("[data-active]")) {
      setTimeout(tick, secs * 1000);
    }
  }
  document.querySelectorAll("[data-poll]").forEach(follow);

  const form = document.getElementById("submit-form");
  if (!form) {
    return;
  }
  const spec = form.querySelector("#spec");
  const sets = form.querySelector("#sets");
  const token = form.querySelector("#submit-token");
  const file = form.querySelector("#spec-file");
  const status = form.querySelector("#submit-status");
  const button = form.querySelector("button[type=submit]");
  const errs = document.getElementById("submit-errors");
  const tokenKey = "benchrig.submitToken";

  try {
    token.value = sessionStorage.getItem(tokenKey) || "";
  } catch (e) {
    // storage refused (private mode): the field works, it is not kept
  }
  function keepToken() {
    try {
      sessionStorage.setItem(tokenKey, token.value);
    } catch (e) {
      // see above
    }
  }
  token.addEventListener("change", keepToken);

  file.addEventListener("change", function () {
    const f = file.files && file.files[0];
    if (!f) {
      return;
    }
    f.text().then(function (t) {
      spec.value = t;
      status.textContent = "Read " + f.name + ".";
      spec.focus();
    });
  });

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined) {
      e.textContent = text;
    }
    return e;
  }

  // goToLine puts the cursor at the start of line n of the spec.
  function goToLine(n) {
    const lines = spec.value.split("\n");
    let at = 0;
    for (let i = 0; i < n - 1 && i < lines.length; i++) {
      at += lines[i].length + 1;
    }
    spec.focus();
    spec.setSelectionRange(at, at + (lines[n - 1] || "").length);
  }

  function hideErrors() {
    errs.hidden = true;
    spec.removeAttribute("aria-invalid");
  }

  // showErrors lists the problems and shows the spec's lines around
  // each one, numbered, the offending line marked and its messages
  // under it.
  function showErrors(e) {
    const list = errs.querySelector(".error-list");
    const view = errs.querySelector(".spec-lines");
    list.replaceChildren();
    view.replaceChildren();
    const items = e.errors && e.errors.length ? e.errors : [{ message: e.message }];
    const byLine = new Map();
    items.forEach(function (it) {
      const what = (it.field ? it.field + ": " : "") + it.message;
      const li = el("li");
      if (it.line > 0) {
        if (!byLine.has(it.line)) {
          byLine.set(it.line, []);
        }
        byLine.get(it.line).push(what);
        const go = el("button", "line-link", "line " + it.line);
        go.type = "button";
        go.addEventListener("click", function () { goToLine(it.line); });
        li.append(go, " " + what);
      } else {
        li.textContent = what;
      }
      list.append(li);
    });
    const src = spec.value.split("\n");
    if (src.length > 1 && src[src.length - 1] === "") {
      src.pop(); // the newline that ends the last line starts no line
    }
    const context = 2;
    let last = 0;
    src.forEach(function (text, i) {
      const n = i + 1;
      let near = src.length <= 40;
      byLine.forEach(function (_, l) {
        near = near || Math.abs(l - n) <= context;
      });
      if (!near) {
        return;
      }
      if (last && n > last + 1) {
        view.append(el("li", "gap", "…"));
      }
      last = n;
      const li = el("li", byLine.has(n) ? "bad" : "");
      li.value = n;
      li.append(el("code", "", text === "" ? " " : text));
      (byLine.get(n) || []).forEach(function (m) {
        li.append(el("p", "msg", m));
      });
      view.append(li);
    });
    view.hidden = byLine.size === 0;
    spec.setAttribute("aria-invalid", "true");
    errs.hidden = false;
    errs.focus();
    status.textContent = items.length === 1 ? "The spec has an error." : "The spec has " + items.length + " errors.";
  }

  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    hideErrors();
    if (!spec.value.trim()) {
      status.textContent = "Paste a spec first.";
      spec.focus();
      return;
    }
    keepToken();
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (token.value.trim()) {
      headers.Authorization = "Bearer " + token.value.trim();
    }
    const body = {
      spec: spec.value,
      set: sets.value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean),
    };
    status.textContent = "Submitting…";
    button.disabled = true;
    let r;
    let data = null;
    try {
      r = await fetch(form.dataset.submit, { method: "POST", headers: headers, body: JSON.stringify(body) });
      data = await r.json().catch(function () { return null; });
    } catch (e) {
      status.textContent = "Could not reach the server: " + e.message;
      button.disabled = false;
      return;
    }
    if (r.status === 201 && data && data.id) {
      status.textContent = "Queued as " + data.id + ": opening its page…";
      window.location.assign("/runs/" + encodeURIComponent(data.id));
      return;
    }
    button.disabled = false;
    const msg = data && data.error && data.error.message;
    if (r.status === 401) {
      status.textContent = "Submitting needs a submit token" + (msg ? " (" + msg + ")." : ".");
      token.focus();
    } else if (r.status === 403) {
      status.textContent = msg || "This token may not submit.";
      token.focus();
    } else if (r.status === 400 && data && data.error) {
      showErrors(data.error);
    } else {
      status.textContent = msg || "The server answered " + r.status + ".";
    }
  });
})();
