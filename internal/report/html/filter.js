(function () {
  "use strict";
  var form = document.getElementById("filters");
  var shown = document.getElementById("shown");
  // Print everything: open the collapsed lists before printing.
  window.addEventListener("beforeprint", function () {
    var ds = document.querySelectorAll("details");
    for (var i = 0; i < ds.length; i++) { ds[i].open = true; }
  });
  if (!form) { return; }
  var rows = Array.prototype.slice.call(document.querySelectorAll("li.finding"));
  var objects = Array.prototype.slice.call(document.querySelectorAll("article.object"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("section.group"));
  // The object of each row, by index: found once, on first use.
  var owner = null;
  var texts = null;
  var check = document.getElementById("f-check");
  var ns = document.getElementById("f-ns");
  var q = document.getElementById("f-q");
  var base = document.getElementById("f-base");
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input.f-sev"));

  function apply() {
    var sev = {};
    boxes.forEach(function (b) { sev[b.value] = b.checked; });
    var want = q.value.trim().toLowerCase();
    if (want && texts === null) {
      texts = rows.map(function (r) {
        var o = r.closest("article.object");
        var head = o.querySelector("h4").textContent;
        var subs = o.querySelectorAll("p.sub");
        for (var j = 0; j < subs.length; j++) { head += " " + subs[j].textContent; }
        return (head + " " + r.textContent).toLowerCase();
      });
    }
    if (owner === null) {
      objects.forEach(function (o, i) { o.dataset.i = i; });
      owner = rows.map(function (r) { return +r.closest("article.object").dataset.i; });
    }
    var visible = new Array(objects.length).fill(0);
    var n = 0;
    rows.forEach(function (r, i) {
      var ok = sev[r.dataset.sev] &&
        (check.value === "" || r.dataset.check === check.value) &&
        (ns.value === "" || r.dataset.ns === ns.value) &&
        (base === null || base.value === "" || r.dataset.base === base.value) &&
        (want === "" || texts[i].indexOf(want) >= 0);
      r.hidden = !ok;
      if (ok) { n++; visible[owner[i]]++; }
    });
    objects.forEach(function (o, i) { o.hidden = visible[i] === 0; });
    groups.forEach(function (g) { g.hidden = g.querySelector("article.object:not([hidden])") === null; });
    status(n);
  }

  function status(n) {
    shown.textContent = "Showing " + n.toLocaleString("en-US") + " of " + rows.length.toLocaleString("en-US") + " listed findings.";
  }
  form.hidden = false;
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
  // Clear resets the form and applies at once (a reset event comes before
  // the form is reset).
  document.getElementById("f-clear").addEventListener("click", function () { form.reset(); apply(); });
  // Nothing is filtered yet: no need to touch the rows.
  status(rows.length);
}());
