// taosim charts: hover values and x-axis zoom for the inline SVG charts of report.html and
// compare.html. Written for taosim (no library), inlined into the page: no network.
//
// Progressive enhancement: every chart is complete static SVG without this script. The
// script reads the data the charts carry in data-* attributes (analysis/src/svg.rs):
//   <svg data-chart="band|errorbar|forest" data-x0 data-x1 data-y0 data-y1 (plot box, px)
//        data-xmin data-xmax data-ymin data-ymax (axis ends, values) [data-ylog="1"]>
//   band charts: <g data-role="series"> holding the drawing, <g data-role="xticks">, and on
//     each median line data-label, data-yexp and data-y (values), data-xexp and data-x (days;
//     absent when the same as the previous line's), written by svg::data_series: integers
//     in units of 10^exp, each the difference from the previous one, "-" for missing;
//   error-bar charts: a <g data-label data-v="P5 P25 P50 P75 P95"> around each point;
//   forest charts: a <g data-label data-tip="values as text"> around each row.
// It adds nothing to the page until the mouse moves over a chart. With #selftest in the URL
// it drives the first charts with synthetic mouse events and writes what it saw into
// <pre id="taosim-selftest"> (tests/report_browser.rs).
(function () {
  "use strict";

  function numbers(text) {
    return text ? text.split(" ").map(parseFloat) : [];
  }

  // The values of svg::data_series (exact integer sums, then one division: the double
  // nearest to the decimal, as on the Rust side).
  function series(exponent, text) {
    var units = 0, scale = Math.pow(10, Math.abs(exponent));
    return text ? text.split(" ").map(function (t) {
      if (t === "-") return 0 / 0; // missing: not a number
      units += parseInt(t, 10);
      return exponent < 0 ? units / scale : units * scale;
    }) : [];
  }

  function num(el, name) {
    return parseFloat(el.getAttribute(name));
  }

  // As analysis::format::display_number: 4 significant digits, thousands separators,
  // exponent outside [1e-4, 1e15).
  function fmt(x) {
    if (!isFinite(x)) return "\u2013";
    if (x === 0) return "0";
    var m = Math.abs(x);
    if (m < 1e-4 || m >= 1e15) return x.toExponential(3).replace("e+", "e");
    var text = x.toFixed(Math.max(0, 3 - Math.floor(Math.log10(m))));
    var dot = text.indexOf(".");
    var integer = dot < 0 ? text : text.slice(0, dot);
    var fraction = dot < 0 ? "" : text.slice(dot + 1).replace(/0+$/, "");
    var sign = integer.charAt(0) === "-" ? "-" : "";
    integer = integer.slice(sign.length).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + integer + (fraction ? "." + fraction : "");
  }

  // The nice step (1, 2, 2.5 or 5 times a power of ten) nearest above `raw`, as svg::nice_step.
  function niceStep(raw) {
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var f = raw / power;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * power;
  }

  // Index of the value in sorted `xs` nearest to `v` (-1 for none).
  function nearest(xs, v) {
    var lo = 0, hi = xs.length - 1;
    if (hi < 0) return -1;
    while (hi - lo > 1) {
      var mid = (lo + hi) >> 1;
      if (xs[mid] <= v) lo = mid; else hi = mid;
    }
    return Math.abs(xs[hi] - v) < Math.abs(xs[lo] - v) ? hi : lo;
  }

  var tip = null;
  function tooltip() {
    if (tip) return tip;
    tip = document.createElement("div");
    tip.id = "taosim-tooltip";
    tip.setAttribute("role", "status");
    tip.style.cssText = "position:fixed;z-index:10;pointer-events:none;display:none;background:#fff;" +
      "border:1px solid #bbb;border-radius:4px;padding:4px 8px;font:12px/1.45 system-ui,sans-serif;" +
      "color:#222;box-shadow:0 1px 4px rgba(0,0,0,.15);max-width:420px";
    document.body.appendChild(tip);
    return tip;
  }

  // Shows lines [{text, color?, muted?}] near the pointer at client (cx, cy).
  function showTip(lines, cx, cy) {
    var t = tooltip();
    t.textContent = "";
    lines.forEach(function (line) {
      var row = document.createElement("div");
      if (line.color) {
        var swatch = document.createElement("span");
        swatch.style.cssText = "display:inline-block;width:10px;height:10px;margin-right:5px;border-radius:2px;background:" + line.color;
        row.appendChild(swatch);
      }
      if (line.muted) row.style.color = "#666";
      row.appendChild(document.createTextNode(line.text));
      t.appendChild(row);
    });
    t.style.display = "block";
    var w = t.offsetWidth, h = t.offsetHeight;
    var x = cx + 14 + w > window.innerWidth ? cx - 14 - w : cx + 14;
    var y = Math.min(Math.max(4, cy - h / 2), Math.max(4, window.innerHeight - h - 4));
    t.style.left = Math.max(4, x) + "px";
    t.style.top = y + "px";
  }

  function hideTip() {
    if (tip) tip.style.display = "none";
  }

  function tipLines() {
    return tip && tip.style.display !== "none"
      ? Array.prototype.map.call(tip.children, function (row) { return row.textContent; })
      : [];
  }

  function Chart(svg, index) {
    this.svg = svg;
    this.index = index;
    this.kind = svg.getAttribute("data-chart");
    this.x0 = num(svg, "data-x0");
    this.x1 = num(svg, "data-x1");
    this.y0 = num(svg, "data-y0");
    this.y1 = num(svg, "data-y1");
    this.xmin = num(svg, "data-xmin");
    this.xmax = num(svg, "data-xmax");
    this.yname = svg.getAttribute("data-yname") || "";
    this.zoom = null;
    this.drag = null;
    this.series = [];
    this.tips = [];
    var self = this;
    if (this.kind === "band") {
      var x = [];
      Array.prototype.forEach.call(svg.querySelectorAll("[data-y]"), function (el) {
        if (el.hasAttribute("data-x")) x = series(num(el, "data-xexp"), el.getAttribute("data-x"));
        self.series.push({
          label: el.getAttribute("data-label") || "",
          color: el.getAttribute("stroke") !== "none" && el.getAttribute("stroke") || el.getAttribute("fill"),
          x: x,
          y: series(num(el, "data-yexp"), el.getAttribute("data-y"))
        });
      });
      this.plot = svg.querySelector("[data-role=series]");
      this.xticks = svg.querySelector("[data-role=xticks]");
    } else {
      this.tips = Array.prototype.slice.call(svg.querySelectorAll("[data-tip],[data-v]"));
    }
    svg.addEventListener("mousemove", function (e) { self.move(e); });
    svg.addEventListener("mouseleave", function () { self.leave(); });
    if (this.kind === "band" && this.plot && this.xmax > this.xmin) {
      svg.addEventListener("mousedown", function (e) { self.down(e); });
      svg.addEventListener("dblclick", function (e) { e.preventDefault(); self.reset(); });
      window.addEventListener("mouseup", function (e) { self.up(e); });
    }
  }

  // The pointer in the chart's own coordinates (the viewBox), whatever the page's scaling.
  Chart.prototype.point = function (e) {
    var m = this.svg.getScreenCTM();
    if (!m) return null;
    return new DOMPoint(e.clientX, e.clientY).matrixTransform(m.inverse());
  };

  Chart.prototype.inside = function (p) {
    return p && p.x >= this.x0 && p.x <= this.x1 && p.y >= this.y0 && p.y <= this.y1;
  };

  // The x range shown: the zoomed one or the whole axis.
  Chart.prototype.range = function () {
    return this.zoom || [this.xmin, this.xmax];
  };

  Chart.prototype.toDay = function (px) {
    var r = this.range();
    return r[0] + (px - this.x0) / (this.x1 - this.x0) * (r[1] - r[0]);
  };

  Chart.prototype.toPx = function (day) {
    var r = this.range();
    return this.x0 + (day - r[0]) / (r[1] - r[0]) * (this.x1 - this.x0);
  };

  Chart.prototype.el = function (name, attrs, parent) {
    var el = document.createElementNS(this.svg.namespaceURI, name);
    for (var k in attrs) el.setAttribute(k, attrs[k]);
    (parent || this.svg).appendChild(el);
    return el;
  };

  Chart.prototype.move = function (e) {
    var p = this.point(e);
    if (this.kind !== "band") return this.hoverTip(p, e);
    if (this.drag) {
      var a = Math.min(Math.max(p.x, this.x0), this.x1);
      var lo = Math.min(a, this.drag.start), hi = Math.max(a, this.drag.start);
      this.selection.setAttribute("x", lo.toFixed(1));
      this.selection.setAttribute("width", (hi - lo).toFixed(1));
    }
    if (!this.inside(p)) return this.leave();
    var day = this.toDay(p.x), r = this.range(), lines = [], at = null;
    this.series.forEach(function (s) {
      var i = nearest(s.x, day);
      if (i < 0 || !isFinite(s.y[i]) || s.x[i] < r[0] || s.x[i] > r[1]) return;
      if (at === null) at = s.x[i];
      lines.push({ text: s.label + ": " + fmt(s.y[i]), color: s.color });
    });
    if (at === null) return this.leave();
    lines.unshift({ text: this.yname, muted: true });
    lines.unshift({ text: "day " + fmt(at) });
    if (!this.guide) {
      this.guide = this.el("line", { y1: this.y0, y2: this.y1, stroke: "#555", "stroke-width": 1, "stroke-dasharray": "3 2", "pointer-events": "none" });
    }
    var x = this.toPx(at).toFixed(1);
    this.guide.setAttribute("x1", x);
    this.guide.setAttribute("x2", x);
    this.guide.style.display = "";
    showTip(lines, e.clientX, e.clientY);
  };

  // Error-bar and forest charts: the point or row nearest the pointer, within 8 px.
  Chart.prototype.hoverTip = function (p, e) {
    var best = null, bestDistance = 8;
    this.tips.forEach(function (el) {
      var b = el.getBBox();
      var dx = Math.max(b.x - p.x, 0, p.x - b.x - b.width);
      var dy = Math.max(b.y - p.y, 0, p.y - b.y - b.height);
      var d = Math.sqrt(dx * dx + dy * dy);
      if (d <= bestDistance) { best = el; bestDistance = d; }
    });
    if (!best) return hideTip();
    showTip([{ text: best.getAttribute("data-label") }, { text: pointText(best, this.yname), muted: true }], e.clientX, e.clientY);
  };

  // The values of an error-bar point or a forest row, as the tooltip writes them.
  function pointText(el, unit) {
    if (el.hasAttribute("data-tip")) return el.getAttribute("data-tip");
    var v = numbers(el.getAttribute("data-v")).map(fmt);
    return "median " + v[2] + "; P25\u2013P75 " + v[1] + " \u2013 " + v[3] + "; P5\u2013P95 " + v[0] + " \u2013 " + v[4] + " (" + unit + ")";
  }

  Chart.prototype.leave = function () {
    hideTip();
    if (this.guide) this.guide.style.display = "none";
  };

  Chart.prototype.down = function (e) {
    var p = this.point(e);
    if (e.button !== 0 || !this.inside(p)) return;
    e.preventDefault();
    this.drag = { start: p.x };
    if (!this.selection) {
      this.selection = this.el("rect", { y: this.y0, height: this.y1 - this.y0, fill: "#4e79a7", "fill-opacity": 0.15, "pointer-events": "none" });
    }
    this.selection.setAttribute("x", p.x.toFixed(1));
    this.selection.setAttribute("width", 0);
    this.selection.style.display = "";
  };

  Chart.prototype.up = function (e) {
    if (!this.drag) return;
    var start = this.drag.start;
    this.drag = null;
    this.selection.style.display = "none";
    var p = this.point(e);
    if (!p) return;
    var end = Math.min(Math.max(p.x, this.x0), this.x1);
    // A click, not a drag: no zoom.
    if (Math.abs(end - start) < 4) return;
    this.zoomTo(this.toDay(Math.min(start, end)), this.toDay(Math.max(start, end)));
  };

  // Shows days [lo, hi]: the drawing is stretched along x (lines keep their width) and
  // clipped to the plot box, and the x axis gets ticks of its own.
  Chart.prototype.zoomTo = function (lo, hi) {
    if (!this.clip) {
      var id = "taosim-clip-" + this.index;
      var defs = this.el("defs", {});
      var clip = this.el("clipPath", { id: id }, defs);
      this.el("rect", { x: this.x0, y: this.y0 - 2, width: this.x1 - this.x0, height: this.y1 - this.y0 + 4 }, clip);
      this.clip = this.el("g", { "clip-path": "url(#" + id + ")" });
      this.plot.parentNode.insertBefore(this.clip, this.plot);
      this.clip.appendChild(this.plot);
    }
    var full = this.x1 - this.x0;
    var pa = this.x0 + (lo - this.xmin) / (this.xmax - this.xmin) * full;
    var pb = this.x0 + (hi - this.xmin) / (this.xmax - this.xmin) * full;
    var s = full / (pb - pa);
    this.zoom = [lo, hi];
    this.svg.setAttribute("data-zoom", lo + " " + hi);
    this.plot.setAttribute("transform", "translate(" + (this.x0 - s * pa) + " 0) scale(" + s + " 1)");
    Array.prototype.forEach.call(this.plot.querySelectorAll("path,line"), function (el) {
      el.setAttribute("vector-effect", "non-scaling-stroke");
    });
    this.drawTicks(lo, hi);
    this.leave();
  };

  Chart.prototype.drawTicks = function (lo, hi) {
    if (this.ticks) this.ticks.parentNode.removeChild(this.ticks);
    if (this.xticks) this.xticks.style.display = "none";
    this.ticks = this.el("g", { "data-role": "zoom-ticks" });
    var step = niceStep((hi - lo) / 8), decimals = 0;
    while (decimals < 9 && Math.abs(step * Math.pow(10, decimals) - Math.round(step * Math.pow(10, decimals))) > 1e-6) decimals++;
    for (var k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
      var x = this.toPx(k * step).toFixed(1);
      this.el("line", { x1: x, x2: x, y1: this.y1, y2: this.y1 + 4, stroke: "#999", "stroke-width": 1 }, this.ticks);
      var label = this.el("text", { x: x, y: this.y1 + 17, "font-size": 11, fill: "#666", "text-anchor": "middle" }, this.ticks);
      label.textContent = (k * step).toFixed(decimals);
    }
    if (!this.button) {
      var self = this;
      this.button = this.el("g", { cursor: "pointer", "data-role": "reset" });
      this.el("rect", { x: this.x1 - 76, y: this.y0 - 24, width: 76, height: 18, rx: 3, fill: "#f3f3f3", stroke: "#bbb" }, this.button);
      var text = this.el("text", { x: this.x1 - 38, y: this.y0 - 11, "font-size": 11, fill: "#222", "text-anchor": "middle" }, this.button);
      text.textContent = "reset zoom";
      this.button.addEventListener("mousedown", function (e) { e.stopPropagation(); });
      this.button.addEventListener("click", function () { self.reset(); });
    }
    this.button.style.display = "";
  };

  // Back to the static chart.
  Chart.prototype.reset = function () {
    if (!this.zoom) return;
    this.zoom = null;
    this.svg.removeAttribute("data-zoom");
    this.plot.removeAttribute("transform");
    Array.prototype.forEach.call(this.plot.querySelectorAll("[vector-effect]"), function (el) {
      el.removeAttribute("vector-effect");
    });
    if (this.ticks) this.ticks.parentNode.removeChild(this.ticks);
    this.ticks = null;
    if (this.xticks) this.xticks.style.display = "";
    if (this.button) this.button.style.display = "none";
    this.leave();
  };

  // Drives charts with synthetic mouse events and writes what the page showed.
  function selftest(charts) {
    var out = {};
    // A mouse event at fractions (fx, fy) of the plot box; returns the fraction along x
    // where the pointer really is (events carry whole client pixels).
    function fire(c, type, fx, fy) {
      var m = c.svg.getScreenCTM();
      var p = new DOMPoint(c.x0 + fx * (c.x1 - c.x0), c.y0 + fy * (c.y1 - c.y0)).matrixTransform(m);
      var e = new MouseEvent(type, { clientX: Math.round(p.x), clientY: Math.round(p.y), bubbles: true, button: 0 });
      c.svg.dispatchEvent(e);
      return (new DOMPoint(e.clientX, e.clientY).matrixTransform(m.inverse()).x - c.x0) / (c.x1 - c.x0);
    }
    try {
      var band = charts.filter(function (c) { return c.kind === "band" && c.series.length && c.series[0].x.length > 1; })[0];
      if (band) {
        var caption = band.svg.parentNode.querySelector("figcaption code");
        var r = {
          title: band.svg.querySelector("title").textContent,
          series: caption ? caption.textContent : null
        };
        var at = fire(band, "mousemove", 0.5, 0.5);
        r.hover = { fraction: at, lines: tipLines(), guide: band.guide ? parseFloat(band.guide.getAttribute("x1")) : null };
        var from = fire(band, "mousedown", 0.25, 0.5);
        fire(band, "mousemove", 0.5, 0.5);
        var to = fire(band, "mouseup", 0.75, 0.5);
        r.zoom = { from: from, to: to, range: band.zoom };
        r.ticks = band.ticks ? Array.prototype.map.call(band.ticks.querySelectorAll("text"), function (t) { return t.textContent; }) : [];
        at = fire(band, "mousemove", 0.3, 0.5);
        r.zoomed_hover = { fraction: at, lines: tipLines() };
        band.svg.dispatchEvent(new MouseEvent("dblclick", { bubbles: true }));
        r.reset = band.zoom === null && !band.svg.hasAttribute("data-zoom") && !band.plot.hasAttribute("transform");
        out.band = r;
      }
      var point = charts.filter(function (c) { return c.tips.length; })[0];
      if (point) {
        var el = point.tips[0], b = el.getBBox();
        var p = new DOMPoint(b.x + b.width / 2, b.y + b.height / 2).matrixTransform(point.svg.getScreenCTM());
        point.svg.dispatchEvent(new MouseEvent("mousemove", { clientX: p.x, clientY: p.y, bubbles: true }));
        var code = point.svg.parentNode.querySelector("figcaption code");
        out.point = {
          kind: point.kind,
          metric: code ? code.textContent : null,
          label: el.getAttribute("data-label"),
          values: el.getAttribute("data-v"),
          text: pointText(el, point.yname),
          lines: tipLines()
        };
      }
    } catch (err) {
      out.error = String(err && err.stack || err);
    }
    var pre = document.createElement("pre");
    pre.id = "taosim-selftest";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }

  var charts = Array.prototype.map.call(document.querySelectorAll("svg[data-chart]"), function (svg, i) {
    return new Chart(svg, i);
  });
  if (location.hash === "#selftest") selftest(charts);
})();
