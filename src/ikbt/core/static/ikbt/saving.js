// Autosave that does not reach the server says so where it says "saved", so that nobody
// leaves a page believing that what they wrote is kept. The text stays in the field; the
// next change (or the Save button) sends it again. What is typed just before leaving the
// page is sent as it goes.
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

  // Text typed in the last moments before leaving the page (Back, another address, closing
  // the tab) has not waited out the autosave's pause: it is sent as the page goes, by a
  // request that outlives the page (keepalive), with the form's fields as htmx sends them.
  var pending = new Set();

  function autosaver(element) {
    return element.closest ? element.closest("[hx-post][hx-trigger*='delay']") : null;
  }

  function typed(event) {
    var saver = autosaver(event.target);
    if (saver) {
      pending.add(saver);
    }
  }

  function sending(event) {
    pending.delete(event.detail.elt);
  }

  // A form sent with its own button carries what was typed: nothing to send again.
  function submitted(event) {
    pending.forEach(function (saver) {
      if (event.target.contains(saver)) {
        pending.delete(saver);
      }
    });
  }

  function leaving() {
    pending.forEach(function (saver) {
      var form = saver.form || saver.closest("form");
      if (form) {
        fetch(saver.getAttribute("hx-post"), {
          method: "POST",
          body: new FormData(form),
          keepalive: true,
          credentials: "same-origin",
          headers: { "HX-Request": "true" },
        });
      }
    });
    pending.clear();
  }

  document.addEventListener("input", typed);
  document.addEventListener("htmx:beforeRequest", sending);
  document.addEventListener("submit", submitted);
  window.addEventListener("pagehide", leaving);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      leaving();
    }
  });

  document.addEventListener("htmx:sendError", notSaved);
  document.addEventListener("htmx:responseError", notSaved);
  document.addEventListener("htmx:beforeSwap", signedOut);
  document.addEventListener("htmx:afterSwap", saved);
})();
