// Keyboard and screen-reader focus for pages that htmx swaps in place.
// After a boosted navigation the new page's problem message (if any) or its main region
// takes focus, as a full page load would start reading from the top.
(function () {
  "use strict";
  function settle(target) {
    var problem = document.getElementById("problem");
    var main = document.getElementById("main");
    var focus = problem || main;
    if (focus && typeof focus.focus === "function") {
      focus.focus({ preventScroll: false });
    }
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    var detail = event.detail || {};
    if (detail.boosted || (detail.elt && detail.elt.tagName === "BODY")) {
      settle(detail.elt);
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var problem = document.getElementById("problem");
    if (problem) { problem.focus(); }
  });
})();
