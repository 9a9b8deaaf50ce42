// Keyboard navigation of the queue: j / k move between cases, Enter opens
// the current one (it is a link), x ticks it for a bulk action, n takes the
// next case, / or s goes to the search box. No other script.
(function () {
  "use strict";
  function links() { return Array.prototype.slice.call(document.querySelectorAll("a.case-link")); }
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
    var all = links();
    var i = all.indexOf(document.activeElement);
    if (ev.key === "j" && all.length) { all[Math.min(i + 1, all.length - 1)].focus(); ev.preventDefault(); }
    else if (ev.key === "k" && all.length) { all[Math.max(i - 1, 0)].focus(); ev.preventDefault(); }
    else if (ev.key === "x" && i >= 0) {
      var row = all[i].closest("tr");
      var box = row && row.querySelector("input.pick");
      if (box) { box.checked = !box.checked; ev.preventDefault(); }
    }
    else if (ev.key === "/" || ev.key === "s") {
      var q = document.getElementById("search-q");
      if (q) { q.focus(); ev.preventDefault(); }
    }
    else if (ev.key === "n") { var f = document.getElementById("next-form"); if (f) { f.submit(); ev.preventDefault(); } }
  });
})();
