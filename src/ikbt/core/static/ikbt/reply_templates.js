// A reply template goes into the text box where the cursor is, beside what the therapist has
// already typed (the page is not reloaded, so nothing typed is lost). Without this script the
// form asks for the page again with the template in the box.
(function () {
  "use strict";

  // A box the therapist has been in keeps her cursor; in one she has not, the template goes
  // after what is there (a draft the page came back with, say), not before it.
  document.addEventListener("focusin", function (event) {
    if (event.target.tagName === "TEXTAREA") {
      event.target.dataset.cursorKnown = "1";
    }
  });

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
    var known = box.dataset.cursorKnown === "1";
    var start = known ? box.selectionStart : box.value.length;
    var end = known ? box.selectionEnd : box.value.length;
    var before = box.value.slice(0, start);
    var after = box.value.slice(end);
    if (before && !/\s$/.test(before)) {
      text = " " + text;
    }
    if (after && !/^\s/.test(after)) {
      text = text + " ";
    }
    box.value = before + text + after;
    box.focus();
    box.selectionStart = box.selectionEnd = before.length + text.length;
    box.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
