/* statusweb's embed for another site: one line with the page's status (or one service's),
 * linking to the page. Put where the line should be:
 *   <script src="https://status.example.org/embed.js" async></script>
 *   <script src="https://status.example.org/embed.js" data-component="linker" async></script>
 * It reads /api/v2/status.json or components.json (CORS-open), sends no cookies, styles
 * only its own element, and looks again every minute. Without JavaScript, use the
 * <iframe src="https://status.example.org/embed"> the admin's Pages screen shows. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.fetch) { return; }
  var base = script.src.replace(/embed\.js(\?.*)?$/, "");
  var component = script.getAttribute("data-component") || "";
  var colours = {
    none: "#15803d", operational: "#15803d",
    minor: "#c2410c", degraded_performance: "#b45309", partial_outage: "#c2410c",
    major: "#b91c1c", critical: "#b91c1c", major_outage: "#b91c1c",
    maintenance: "#1d4ed8", under_maintenance: "#1d4ed8"
  };
  var words = {
    operational: "Operational", degraded_performance: "Degraded Performance",
    partial_outage: "Partial Outage", major_outage: "Major Outage", under_maintenance: "Under Maintenance"
  };
  var line = document.createElement("a");
  line.className = "statusweb-embed";
  line.href = base;
  line.target = "_blank";
  line.rel = "noopener";
  line.textContent = "Status…";
  var look = {
    display: "inline-block", padding: "0.4em 0.8em", borderRadius: "6px", color: "#fff",
    background: "#4b5563", font: "600 14px/1.4 system-ui, sans-serif", textDecoration: "none"
  };
  for (var key in look) { line.style[key] = look[key]; }
  script.parentNode.insertBefore(line, script.nextSibling);

  function show(text, status) {
    line.textContent = text;
    line.style.background = colours[status] || "#4b5563";
  }

  function read(data) {
    if (!component) {
      show(data.status.description, data.status.indicator);
      return;
    }
    var found = (data.components || []).filter(function (c) { return c.id === component; })[0];
    if (!found) { throw new Error("no component " + component); }
    show(found.name + ": " + (words[found.status] || found.status), found.status);
  }

  function look_again() {
    fetch(base + "api/v2/" + (component ? "components.json" : "status.json"), { credentials: "omit" })
      .then(function (answer) { if (!answer.ok) { throw new Error(answer.status); } return answer.json(); })
      .then(read)
      .catch(function () { show("Status unavailable", ""); });
  }

  look_again();
  setInterval(look_again, 60000);
}());
