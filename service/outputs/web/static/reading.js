// Staycurrent reading page: the dial re-ranks as it moves, and keys move through the feed.
// Everything also works without this file (plain links and forms).
"use strict";
(function () {
  var dial = document.getElementById("dial");
  var list = document.getElementById("feed-list");

  function query() {
    var params = new URLSearchParams(new FormData(dial));
    return params.toString();
  }

  var pending = null, latest = 0;
  function rerank() {
    var asked = ++latest, q = query();
    fetch(dial.dataset.list + "?" + q, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        if (asked !== latest) { return; } // an older answer arriving late is dropped
        list.innerHTML = html;
        history.replaceState(null, "", dial.action.split("?")[0] + "?" + q);
        current = -1;
        document.body.dataset.ranked = String(asked);
      })
      .catch(function () { dial.submit(); });
  }

  if (dial && list) {
    var depth = document.getElementById("depth"), shown = document.getElementById("depth-value");
    depth.addEventListener("input", function () {
      shown.value = Number(depth.value).toFixed(2);
      clearTimeout(pending);
      pending = setTimeout(rerank, 60);
    });
    dial.addEventListener("change", function (e) { if (e.target !== depth) { rerank(); } });
  }

  var current = -1;
  function items() { return document.querySelectorAll("#items > li.item"); }
  function move(step) {
    var all = items();
    if (!all.length) { return; }
    if (current >= 0 && all[current]) { all[current].classList.remove("current"); }
    current = Math.max(0, Math.min(all.length - 1, current + step));
    all[current].classList.add("current");
    all[current].scrollIntoView({ block: "nearest" });
  }
  function press(signal) {
    var all = items(), item = all[current];
    if (!item) { return; }
    var button = item.querySelector('button[data-key="' + signal + '"]');
    if (button) { button.click(); }
  }
  var keys = { s: "save", l: "like", d: "dislike", h: "hide" };
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey || (t && /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) && t.type !== "range")) { return; }
    if (e.key === "j") { move(1); }
    else if (e.key === "k") { move(-1); }
    else if (e.key === "o") {
      var item = items()[current], link = item && (item.querySelector("a.out") || item.querySelector("a.more"));
      if (link) { window.open(link.href, "_blank", "noopener"); }
    }
    else if (keys[e.key]) { press(keys[e.key]); }
    else if (e.key === "?") { var help = document.getElementById("help"); if (help) { help.hidden = !help.hidden; } }
    else { return; }
    e.preventDefault();
  });
})();
