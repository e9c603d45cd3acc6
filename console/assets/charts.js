// Draws the dashboard's charts with uPlot from the JSON the page carries.
(function () {
  "use strict";
  var el = document.getElementById("charts");
  if (!el || typeof uPlot === "undefined") return;
  var charts = JSON.parse(el.textContent);
  var plots = [];
  document.querySelectorAll("[data-chart]").forEach(function (div) {
    var c = charts[Number(div.dataset.chart)];
    var opts = {
      width: Math.max(240, div.clientWidth),
      height: 220,
      scales: { x: { time: true }, y: { range: function (u, lo, hi) { return [0, Math.max(1, hi)]; } } },
      series: [{}, { label: "records", stroke: "#0b5cad", fill: "rgba(11,92,173,0.12)", width: 2 }],
      axes: [{}, { label: "records / hour" }],
      legend: { show: true }
    };
    plots.push({ div: div, plot: new uPlot(opts, [c.hours, c.records], div) });
  });
  window.addEventListener("resize", function () {
    plots.forEach(function (p) { p.plot.setSize({ width: Math.max(240, p.div.clientWidth), height: 220 }); });
  });
})();
