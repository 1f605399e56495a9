// A box with a length limit says how much room is left as the limit nears, and how much too
// long the text is past it. The browser's own limit is lifted, since it cuts pasted text
// without a word; the server refuses a text that is too long and gives it back whole.
// Counted as the server counts: each character once, a line break twice (the browser sends
// it as two).
(function () {
  "use strict";

  var texts = document.body.dataset;

  // A box whose server counts a line break once says so (data-line-break-once).
  function lengthOf(box) {
    var text = box.value;
    var breaks = "lineBreakOnce" in box.dataset ? 0 : (text.match(/\n/g) || []).length;
    return Array.from(text).length + breaks;
  }

  function watch(box) {
    var limit = parseInt(box.getAttribute("maxlength"), 10);
    if (!box.id || !limit) {
      return;
    }
    box.removeAttribute("maxlength");
    var status = document.createElement("span");
    status.id = box.id + "-length";
    status.className = "helptext";
    status.setAttribute("aria-live", "polite");
    box.insertAdjacentElement("afterend", status);
    var described = box.getAttribute("aria-describedby");
    box.setAttribute("aria-describedby", (described ? described + " " : "") + status.id);

    function update() {
      var left = limit - lengthOf(box);
      var near = left <= limit / 5;
      status.textContent = !near
        ? ""
        : left >= 0
          ? texts.charactersLeft.replace("%(n)s", left)
          : texts.charactersOver.replace("%(n)s", -left);
      status.classList.toggle("over-limit", left < 0);
    }
    box.addEventListener("input", update);
    update();
  }

  document.querySelectorAll("textarea[maxlength]").forEach(watch);
  document.body.addEventListener("htmx:load", function (event) {
    event.detail.elt.querySelectorAll("textarea[maxlength]").forEach(watch);
  });
})();
