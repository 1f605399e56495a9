// Autosave that does not reach the server says so where it says "saved", so that nobody
// leaves a page believing that what they wrote is kept. The text stays in the field; the
// next change (or the Save button) sends it again.
(function () {
  "use strict";

  function statusOf(event) {
    var status = event.detail.target;
    return status && status.dataset && status.dataset.notSaved ? status : null;
  }

  function say(status, text) {
    status.textContent = text;
    status.classList.add("not-saved");
  }

  // No answer at all (no network), or an error answer htmx does not show (a 409 it does:
  // the worksheet was changed on another device, and the answer explains it).
  function notSaved(event) {
    var status = statusOf(event);
    if (status) {
      say(status, status.dataset.notSaved);
    }
  }

  // Signed out meanwhile (30 minutes idle): the save was sent on to a sign-in page, which
  // must not be put where the status is.
  function signedOut(event) {
    var status = statusOf(event);
    var answered = event.detail.xhr.responseURL;
    var asked = new URL(event.detail.pathInfo.requestPath, window.location.href).pathname;
    if (status && answered && new URL(answered).pathname !== asked) {
      event.detail.shouldSwap = false;
      say(status, status.dataset.signedOut);
    }
  }

  // Saved again after a failure: the status reads as usual.
  function saved(event) {
    var status = statusOf(event);
    if (status && event.detail.successful && event.detail.shouldSwap !== false) {
      status.classList.remove("not-saved");
    }
  }

  document.addEventListener("htmx:sendError", notSaved);
  document.addEventListener("htmx:responseError", notSaved);
  document.addEventListener("htmx:beforeSwap", signedOut);
  document.addEventListener("htmx:afterSwap", saved);
})();
