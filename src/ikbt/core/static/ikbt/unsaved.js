// A form that is saved only by its button (a program page's text, a worksheet or a quiz being
// written) warns before the page is left with changes not saved: the browser asks, in its own
// words, whether to leave. Sending the form itself does not ask.
(function () {
  "use strict";

  var changed = new Set();

  // A form sent and refused comes back with what was typed, still not saved.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-warn-unsaved='refused']").forEach(function (form) {
      changed.add(form);
    });
  });

  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("form[data-warn-unsaved]");
    if (form) {
      changed.add(form);
    }
  });

  document.addEventListener("submit", function (event) {
    changed.delete(event.target);
  });

  window.addEventListener("beforeunload", function (event) {
    if (changed.size > 0) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
