// A reply template goes into the text box where the cursor is, beside what the therapist has
// already typed (the page is not reloaded, so nothing typed is lost). Without this script the
// form asks for the page again with the template in the box.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("template-choice")) {
      return;
    }
    var box = document.getElementById(form.dataset.fills);
    var option = form.querySelector("select").selectedOptions[0];
    if (!box || !option) {
      return;
    }
    event.preventDefault();
    var text = option.dataset.text;
    var start = box.selectionStart;
    var end = box.selectionEnd;
    var before = box.value.slice(0, start);
    var after = box.value.slice(end);
    if (before && !/\s$/.test(before)) {
      text = " " + text;
    }
    box.value = before + text + after;
    box.focus();
    box.selectionStart = box.selectionEnd = before.length + text.length;
    box.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
