// While a "check now" request waits for the runner, reload every two seconds to show
// its result; without JavaScript a manual reload shows the same.
if (document.querySelector("[data-pending]")) {
  setTimeout(function () { window.location.reload(); }, 2000);
}
