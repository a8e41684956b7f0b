// Times are written in UTC; this adds the reader's own time beside them, and keeps
// "Updated ... ago" current. Without JavaScript the UTC times stay, complete on their own.
(function () {
  "use strict";
  function localise() {
    document.querySelectorAll("time[data-local]").forEach(function (element) {
      var moment = new Date(element.getAttribute("datetime"));
      if (isNaN(moment) || element.nextElementSibling && element.nextElementSibling.className === "local-time") { return; }
      var local = document.createElement("span");
      local.className = "local-time";
      local.textContent = " (" + moment.toLocaleString([], {month: "short", day: "numeric", hour: "2-digit",
                                                             minute: "2-digit", timeZoneName: "short"}) + ")";
      element.after(local);
    });
  }
  function ages() {
    document.querySelectorAll("time[data-ago]").forEach(function (element) {
      var seconds = Math.max(0, Math.round((Date.now() - new Date(element.getAttribute("datetime"))) / 1000));
      var shape = seconds < 120 ? element.dataset.seconds : element.dataset.minutes;
      element.textContent = shape.replace("{n}", seconds < 120 ? seconds : Math.round(seconds / 60));
    });
  }
  localise();
  setInterval(ages, 10000);
  document.addEventListener("statusweb:updated", function () { localise(); ages(); });
}());
