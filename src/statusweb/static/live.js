// Live updates without reloading (and without holding a server thread per reader):
// asks /api/live every few seconds with If-None-Match, which costs the server a cache
// lookup; when the version changes, fetches this page again and swaps in its <main>,
// then says so in a polite live region. Failures back off exponentially with jitter
// (up to a minute); a hidden tab does not poll; "Pause live updates" stops it all
// (WCAG 2.2.2). Without JavaScript the page is complete: reload to update.
(function () {
  "use strict";
  var main = document.querySelector("main");
  var toggle = document.getElementById("live-toggle");
  var said = document.getElementById("live-status");
  if (!main || !toggle || !said || !window.fetch || !window.DOMParser) { return; }
  var SOON = 500;  // ms: asking again after a refresh that still found the old page
  var every = 2000, delay = every, version = null, etag = null, paused = false, timer = null;

  function later(ms) {
    clearTimeout(timer);
    if (!paused && !document.hidden) { timer = setTimeout(poll, ms * (0.8 + Math.random() * 0.4)); }
  }

  // The ETag is kept only with the page it stands for: when the server still had the old
  // copy, the next poll (soon) is answered in full again and the page fetched once more.
  function poll() {
    var headers = etag ? {"If-None-Match": etag} : {};
    var fresh = null;
    fetch("/api/live", {headers: headers, cache: "no-cache", credentials: "omit"}).then(function (answer) {
      if (answer.status === 304) { return null; }
      if (!answer.ok) { throw new Error("HTTP " + answer.status); }
      fresh = answer.headers.get("ETag");
      return answer.json();
    }).then(function (body) {
      delay = every;
      if (body) {
        every = Math.max(1000, (body.poll_seconds || 2) * 1000);
        if (version !== null && body.version !== version) {
          return refresh(body.version).then(function (current) {
            if (current) { version = body.version; etag = fresh; } else { delay = SOON; }
          });
        }
        version = body.version;
        etag = fresh;
      }
    }).catch(function () {
      delay = Math.min(60000, delay * 2);  // the server is struggling or gone: ask less often
    }).then(function () { later(delay); });
  }

  // The new copy of this page; false when the server still had the old one (it marks
  // the status page with its version): the next poll asks again.
  // A group the reader opened or closed stays so when the page is swapped in again.
  var chosen = {};
  main.addEventListener("toggle", function (event) {
    var name = event.target.matches && event.target.matches("details.group") && event.target.querySelector("summary h2");
    if (name) { chosen[name.textContent] = event.target.open; }
  }, true);  // toggle does not bubble: caught on its way down

  function keepChosen() {
    main.querySelectorAll("details.group").forEach(function (group) {
      var name = group.querySelector("summary h2");
      if (name && Object.prototype.hasOwnProperty.call(chosen, name.textContent)) {
        group.open = chosen[name.textContent];
      }
    });
  }

  function refresh(wanted) {
    return fetch(location.pathname + location.search, {cache: "no-cache", credentials: "same-origin"})
      .then(function (answer) {
        if (!answer.ok) { throw new Error("HTTP " + answer.status); }
        return answer.text();
      }).then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        if (!fresh) { return false; }
        var marked = fresh.getAttribute("data-version");
        if (marked && marked !== wanted) { return false; }
        main.innerHTML = fresh.innerHTML;
        keepChosen();
        document.dispatchEvent(new CustomEvent("statusweb:updated"));
        var banner = main.querySelector(".banner h1");
        said.textContent = toggle.dataset.updated + (banner ? ": " + banner.textContent : "") + ".";
        return true;
      });
  }

  toggle.hidden = false;
  toggle.addEventListener("click", function () {
    paused = !paused;
    toggle.setAttribute("aria-pressed", paused ? "true" : "false");
    toggle.textContent = paused ? toggle.dataset.resume : toggle.dataset.pause;
    if (!paused) { poll(); } else { clearTimeout(timer); }
  });
  document.addEventListener("visibilitychange", function () { if (!document.hidden && !paused) { poll(); } });
  poll();
}());
