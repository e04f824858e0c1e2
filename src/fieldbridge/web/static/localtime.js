// Times rendered in UTC (<time datetime data-local>) shown in the reader's zone, with its name.
(function () {
  function show(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      var opts = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" };
      if (el.dataset.local === "long") { opts.year = "numeric"; opts.second = "2-digit"; opts.weekday = "short"; }
      el.textContent = at.toLocaleString(undefined, opts);
      el.title = at.toISOString().replace(".000Z", "Z") + " (UTC)";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { show(document); });
  document.addEventListener("htmx:afterSwap", function (e) { show(e.target); });
})();
