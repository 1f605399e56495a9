// A question an earlier answer leaves out (AUDIT's 2-8 for someone who never drinks) is
// hidden while that answer is chosen. Without scripts it stays, saying when to skip it, and
// the server neither asks for it nor keeps what is ticked there.
(function () {
  "use strict";

  function update() {
    document.querySelectorAll("fieldset[data-skip-if]").forEach(function (question) {
      var chosen = document.querySelector(
        'input[name="' + question.dataset.skipIf + '"]:checked'
      );
      var values = question.dataset.skipValues.split(" ");
      question.hidden = chosen !== null && values.indexOf(chosen.value) !== -1;
    });
  }

  if (document.querySelector("fieldset[data-skip-if]")) {
    document.addEventListener("change", update);
    update();
  }
})();
