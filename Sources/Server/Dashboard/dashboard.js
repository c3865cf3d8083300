// Intake dashboard: polls /dashboard/data and refills the page the server rendered.
// Every element that shows a value names its place in the JSON (data-field, data-rows,
// data-map) and its format (data-format, the same rules as DashboardPage.Format in Swift);
// charts (data-chart) are drawn here as SVG from the JSON's series. Text is set with
// textContent only, never parsed as HTML. No library, no build step.
"use strict";
(function () {
  var SVG = "http://www.w3.org/2000/svg";
  var COLORS = ["#0b5cad", "#cf222e", "#1a7f37", "#bf8700"];
  var INTERVAL_MS = 2000;

  function lookup(path, data) {
    return path.split(".").reduce(function (value, key) {
      return value !== null && typeof value === "object" ? value[key] : undefined;
    }, data);
  }

  function decimal(n) {
    return n >= 100 ? String(Math.round(n)) : n.toFixed(n >= 10 ? 1 : 2);
  }

  function format(kind, value) {
    if (kind === "check" && typeof value === "boolean") return value ? "ok" : "FAIL";
    if (kind === "text" || kind === "check") return value === null || value === undefined ? "\u2014" : String(value);
    if (typeof value !== "number" || !isFinite(value)) return "\u2014";
    switch (kind) {
      case "int": return String(Math.round(value));
      case "rate": return decimal(value) + "/s";
      case "ms": return decimal(value) + " ms";
      case "seconds": return decimal(value) + " s";
      default: return decimal(value);
    }
  }

  function cell(kind, value) {
    var td = document.createElement("td");
    td.textContent = format(kind, value);
    if (kind === "check") td.className = td.textContent === "ok" ? "ok" : "fail";
    return td;
  }

  function fillFields(data) {
    document.querySelectorAll("[data-field]").forEach(function (el) {
      var value = lookup(el.dataset.field, data);
      el.textContent = el.hasAttribute("data-optional") && (value === null || value === undefined) ? "" : format(el.dataset.format, value);
    });
  }

  function none(columns) {
    var tr = document.createElement("tr");
    var td = document.createElement("td");
    td.className = "muted";
    td.colSpan = columns;
    td.textContent = "none";
    tr.appendChild(td);
    return tr;
  }

  function fillRows(data) {
    document.querySelectorAll("[data-rows]").forEach(function (body) {
      var columns = body.dataset.columns.split(",").map(function (c) { return c.split(":"); });
      var rows = (lookup(body.dataset.rows, data) || []).map(function (row) {
        var tr = document.createElement("tr");
        columns.forEach(function (c) { tr.appendChild(cell(c[1], row[c[0]])); });
        return tr;
      });
      body.replaceChildren.apply(body, rows.length ? rows : [none(columns.length)]);
    });
    document.querySelectorAll("[data-map]").forEach(function (body) {
      var object = lookup(body.dataset.map, data) || {};
      var rows = Object.keys(object).sort().map(function (key) {
        var tr = document.createElement("tr");
        tr.appendChild(cell("text", key));
        tr.appendChild(cell(body.dataset.format, object[key]));
        return tr;
      });
      body.replaceChildren.apply(body, rows.length ? rows : [none(2)]);
    });
  }

  function element(name, attributes, text) {
    var el = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) { el.setAttribute(key, attributes[key]); });
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function drawCharts(series) {
    document.querySelectorAll("svg[data-chart]").forEach(function (svg) {
      var names = svg.dataset.chart.split(" ");
      var width = 420, height = 130, left = 40, bottom = 16;
      svg.setAttribute("viewBox", "0 0 " + width + " " + height);
      var children = [];
      var values = [];
      series.forEach(function (p) { names.forEach(function (n) { if (typeof p[n] === "number") values.push(p[n]); }); });
      if (series.length < 2 || values.length === 0) {
        children.push(element("text", { x: 8, y: 20, "font-size": 12, fill: "#6e7781" }, "collecting samples\u2026"));
        svg.replaceChildren.apply(svg, children);
        return;
      }
      var top = Math.max.apply(null, values.concat([1e-9])) * 1.1;
      var t0 = series[0].t, t1 = series[series.length - 1].t, span = Math.max(t1 - t0, 1e-9);
      var x = function (t) { return left + (width - left - 6) * (t - t0) / span; };
      var y = function (v) { return (height - bottom) - (height - bottom - 6) * v / top; };
      [0, 0.5, 1].forEach(function (f) {
        children.push(element("line", { x1: left, x2: width - 6, y1: y(top * f), y2: y(top * f), stroke: "#e3e6ea" }));
        children.push(element("text", { x: left - 4, y: y(top * f) + 4, "font-size": 10, "text-anchor": "end" }, decimal(top * f)));
      });
      children.push(element("text", { x: left, y: height - 3, "font-size": 10 }, "-" + Math.round(span) + " s"));
      children.push(element("text", { x: width - 6, y: height - 3, "font-size": 10, "text-anchor": "end" }, "now"));
      names.forEach(function (name, i) {
        var points = series.filter(function (p) { return typeof p[name] === "number"; })
          .map(function (p) { return x(p.t).toFixed(1) + "," + y(p[name]).toFixed(1); });
        children.push(element("polyline", { fill: "none", stroke: COLORS[i % COLORS.length], "stroke-width": 2, points: points.join(" "), "data-series": name }));
        children.push(element("text", { x: width - 10, y: 14 + 12 * i, "font-size": 11, "text-anchor": "end", fill: COLORS[i % COLORS.length] }, name));
      });
      svg.replaceChildren.apply(svg, children);
    });
  }

  function show(data) {
    fillFields(data);
    fillRows(data);
    drawCharts(data.series || []);
    var problem = document.getElementById("problem");
    if (problem) problem.textContent = "";
    var ready = document.getElementById("ready");
    if (ready) {
      ready.textContent = data.health && data.health.ready ? "ready" : "NOT READY";
      ready.className = data.health && data.health.ready ? "ok" : "fail";
    }
  }

  function poll() {
    fetch("/dashboard/data", { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) {
          window.location.assign("/dashboard/login");
          return null;
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) { if (data) show(data); })
      .catch(function (error) {
        var problem = document.getElementById("problem");
        if (problem) problem.textContent = "no answer from the server (" + error.message + "); retrying";
      })
      .finally(function () { window.setTimeout(poll, INTERVAL_MS); });
  }

  poll();
})();
