// Autosave that cannot reach the server says so where it says "saved", so that nobody
// leaves a page believing that what they wrote is kept. The text stays in the field; the
// next change (or the Save button) sends it again.
(function () {
  "use strict";
  function notSaved(event) {
    var status = event.detail.target;
    if (!status || !status.dataset || !status.dataset.notSaved) {
      return;
    }
    if (event.type === "htmx:responseError" && event.detail.xhr.status < 500) {
      return; // a refusal the server explains itself (409: changed on another device)
    }
    status.textContent = status.dataset.notSaved;
    status.classList.add("not-saved");
  }
  document.addEventListener("htmx:sendError", notSaved);
  document.addEventListener("htmx:responseError", notSaved);
})();
