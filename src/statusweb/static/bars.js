// Uptime bars: each day's details (its aria-label) in a tooltip on hover, keyboard focus
// and tap; one tab stop per bar, arrow keys (and Home/End) move between days. Without
// JavaScript screen readers still read every day's label.
(function () {
  "use strict";
  var tip = document.createElement("div");
  tip.className = "bar-tip";
  tip.setAttribute("role", "tooltip");
  tip.id = "bar-tip";
  tip.hidden = true;
  document.body.appendChild(tip);

  function show(day) {
    tip.textContent = "";
    day.getAttribute("aria-label").split("; ").forEach(function (line, index) {
      if (index) { tip.appendChild(document.createElement("br")); }
      tip.appendChild(document.createTextNode(line));
    });
    tip.hidden = false;
    var box = day.getBoundingClientRect();
    var left = Math.min(window.scrollX + box.left, window.scrollX + document.documentElement.clientWidth - tip.offsetWidth - 8);
    tip.style.left = Math.max(8, left) + "px";
    tip.style.top = (window.scrollY + box.bottom + 6) + "px";
  }
  function hide() { tip.hidden = true; }

  function isDay(node) { return node && node.classList && node.classList.contains("bar") && node.closest(".bars"); }
  document.addEventListener("mouseover", function (event) { if (isDay(event.target)) { show(event.target); } });
  document.addEventListener("mouseout", function (event) { if (isDay(event.target)) { hide(); } });
  document.addEventListener("focusin", function (event) { if (isDay(event.target)) { show(event.target); } });
  document.addEventListener("focusout", function (event) { if (isDay(event.target)) { hide(); } });
  document.addEventListener("click", function (event) {
    if (isDay(event.target)) { event.target.focus(); } else { hide(); }
  });
  document.addEventListener("keydown", function (event) {
    var day = event.target;
    if (!isDay(day)) { return; }
    if (event.key === "Escape") { hide(); return; }
    var days = Array.prototype.slice.call(day.parentNode.children);
    var at = days.indexOf(day);
    var next = {ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: days.length - 1}[event.key];
    if (next === undefined || next < 0 || next >= days.length) { return; }
    event.preventDefault();
    day.tabIndex = -1;
    days[next].tabIndex = 0;
    days[next].focus();
  });
}());
