// On a page of several forms (the treatment record, an assessment, a unit's page), sending one
// form must not lose what was typed or chosen in another's box: what the other boxes hold goes
// along with the form that is sent, as "unsent:<the box's id>", and the page that comes back
// puts it where it was (ikbt.accounts.middleware.unsent_on_page).
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var page = form.closest("[data-keeps-unsent]");
    // Only in the body of a POST: text in an address would be written to logs.
    if (!page || form.method !== "post") {
      return;
    }
    // Back to a page sent before (the browser keeps it): what it carried then is stale.
    form.querySelectorAll("input[data-unsent]").forEach(function (carried) {
      carried.remove();
    });
    var boxes = [
      "textarea[id]",
      "input[id][type=text]",
      "input[id][type=email]",
      "input[id][type=tel]",
      "input[id][type=number]",
      "input[id][type=date]",
      "select[id]:not([multiple])",
    ].join(", ");
    page.querySelectorAll(boxes).forEach(function (box) {
      if (!box.value.trim()) {
        return;
      }
      // The form's own boxes too, under their ids: kept only should the session have timed
      // out, so that the page puts them back after signing in again.
      var carried = document.createElement("input");
      carried.type = "hidden";
      carried.name = (box.form === form ? "sent:" : "unsent:") + box.id;
      carried.value = box.value;
      carried.dataset.unsent = "";
      form.appendChild(carried);
    });
    // A choice among radio buttons (a worksheet's scale), under the name its group gives.
    page.querySelectorAll("input[type=radio][data-unsent-as]:checked").forEach(function (chosen) {
      var carried = document.createElement("input");
      carried.type = "hidden";
      carried.name = (chosen.form === form ? "sent:" : "unsent:") + chosen.dataset.unsentAs;
      carried.value = chosen.value;
      carried.dataset.unsent = "";
      form.appendChild(carried);
    });
  });
})();
