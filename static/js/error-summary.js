// The error summary (templates/includes/_error_summary.html) takes focus when the page loads,
// and its links put the cursor in the field they name (a plain #anchor only scrolls).
(function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (!summary) {
    return;
  }
  summary.focus();
  summary.scrollIntoView({ block: "start", behavior: "instant" });
  // Pictures above the form load later and push it down: bring the summary back to the top.
  window.addEventListener("load", function () {
    if (document.activeElement === summary) {
      summary.scrollIntoView({ block: "start", behavior: "instant" });
    }
  });
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) {
      return;
    }
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (field) {
      event.preventDefault();
      field.scrollIntoView({ block: "center", behavior: "instant" });
      field.focus();
    }
  });
})();
