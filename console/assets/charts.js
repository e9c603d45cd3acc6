// Draws the dashboard's charts with uPlot from the JSON the page carries.
(function () {
  "use strict";
  if (typeof uPlot === "undefined") return;
  var colors = ["#0b5cad", "#c0392b", "#d68910", "#1e8449", "#7d3c98", "#117a65", "#566573"];
  var plots = [];
  function draw(div, yLabel, series, data) {
    var opts = {
      width: Math.max(240, div.clientWidth),
      height: 220,
      scales: { x: { time: true }, y: { range: function (u, lo, hi) { return [0, Math.max(1, hi)]; } } },
      series: [{}].concat(series),
      axes: [{}, { label: yLabel }],
      legend: { show: true }
    };
    plots.push({ div: div, plot: new uPlot(opts, data, div) });
  }
  var el = document.getElementById("charts");
  if (el) {
    var charts = JSON.parse(el.textContent);
    document.querySelectorAll("[data-chart]").forEach(function (div) {
      var c = charts[Number(div.dataset.chart)];
      draw(div, "records / hour", [{ label: "records", stroke: colors[0], fill: "rgba(11,92,173,0.12)", width: 2 }], [c.hours, c.records]);
    });
  }
  var errEl = document.getElementById("errors"), errDiv = document.querySelector("[data-errors]");
  if (errEl && errDiv) {
    var e = JSON.parse(errEl.textContent);
    var codes = e.codes.length ? e.codes : ["errors"];
    draw(errDiv, "errors / hour", codes.map(function (code, i) {
      return { label: code, stroke: colors[(i + 1) % colors.length], width: 2 };
    }), [e.hours].concat(codes.map(function (code) { return e.counts[code] || e.hours.map(function () { return 0; }); })));
  }
  window.addEventListener("resize", function () {
    plots.forEach(function (p) { p.plot.setSize({ width: Math.max(240, p.div.clientWidth), height: 220 }); });
  });
})();
