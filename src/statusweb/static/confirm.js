// Dangerous admin buttons ask first: a form with data-confirm="..." submits only after
// the person agrees. Without JavaScript it submits at once, as a plain form does.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) { event.preventDefault(); }
});
