// The pledge form: show "how many months" only for monthly gifts, focus "other amount" when
// "Other" is chosen, and disable the button after the first click (the server also ignores
// a second submission of the same form: it carries an idempotency token).
(function () {
  "use strict";
  var form = document.querySelector(".hv-pledge-form");
  if (!form) { return; }
  var months = document.getElementById("months-wrapper");
  function syncMonths() {
    var monthly = form.querySelector("input[name=frequency][value=monthly]");
    if (months && monthly) { months.hidden = !monthly.checked; }
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "frequency") { syncMonths(); }
    if (event.target.name === "amount_choice" && event.target.value === "other") {
      var other = document.getElementById("id_other_amount");
      if (other) { other.focus(); }
    }
    if (event.target.name === "amount_choice" && event.target.value !== "other") {
      var field = document.getElementById("id_other_amount");
      if (field) { field.value = ""; }
    }
  });
  form.addEventListener("submit", function () {
    var button = form.querySelector("button[type=submit]");
    if (button) { window.setTimeout(function () { button.disabled = true; }, 0); }
  });
  syncMonths();
})();
