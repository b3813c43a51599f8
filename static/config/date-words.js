// Writes the date chosen in each admin date input out in words under it ("Wednesday, March 4,
// 2026"), in the page's language: the picker shows the browser's own order (03/04/2026 in an
// English Chromium), so a date must never be saved without being seen unambiguously
// (core.admin_forms.NativeDateInput renders the same words for a saved value).
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  var words;
  try {
    words = new Intl.DateTimeFormat(lang, { dateStyle: "full", timeZone: "UTC" });
  } catch (e) {
    return; // no Intl: the server's words for the saved value stay
  }

  function hintFor(input) {
    return input.id ? document.getElementById(input.id + "_format") : null;
  }

  function show(input) {
    var hint = hintFor(input);
    if (!hint || !hint.hasAttribute("data-date-words")) return;
    var match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(input.value);
    if (!match) {
      hint.textContent = hint.getAttribute("data-empty");
      return;
    }
    var day = new Date(Date.UTC(+match[1], +match[2] - 1, +match[3]));
    hint.textContent = words.format(day);
  }

  function onChange(event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.type === "date") show(input);
  }

  document.addEventListener("input", onChange);
  document.addEventListener("change", onChange);
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll('input[type="date"]').forEach(show);
  });
})();
