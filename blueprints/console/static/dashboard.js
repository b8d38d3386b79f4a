// The dashboard's charts: one request for the figures (the report of GET /admin/stats), then each element
// with data-chart="<key>" draws that series field: its first series is the field's values, in order, as the
// report gives them (amounts stay in fen, shown in yuan by the axis); data-chart="cohorts" is the cohort
// heat map; data-pie="<key>" draws a breakdown of the range as a pie.
(function () {
  "use strict";
  const script = document.currentScript;
  const words = JSON.parse(document.getElementById("dashboard-words").textContent);
  const yuan = (fen) => (fen === null || fen === undefined ? null : fen / 100);
  const yuanAxis = { type: "value", axisLabel: { formatter: (fen) => `¥${fen / 100}` } };
  const inYuan = (fen) => (fen === null || fen === undefined ? "—" : `¥${(fen / 100).toFixed(2)}`);
  const palette = ["#2f6fdf", "#f0a020", "#19a974", "#e0465e", "#8a63d2", "#11a3b8", "#7a869a"];

  function timeChart(dates, lines, extra) {
    return Object.assign({
      color: palette, animation: false,
      tooltip: { trigger: "axis" }, legend: { top: 0, show: lines.length > 1 },
      grid: { left: 48, right: 16, top: lines.length > 1 ? 28 : 12, bottom: 24 },
      xAxis: { type: "category", data: dates },
      yAxis: { type: "value" },
      series: lines.map(([name, data, type]) => ({ name, type: type || "line", data, connectNulls: false,
                                                   showSymbol: dates.length < 40 })),
    }, extra || {});
  }

  function pie(entries) {
    const data = Object.entries(entries || {}).filter(([, v]) => v)
      .map(([name, value]) => ({ name: words.names[name] || name, value }));
    return { color: palette, animation: false, tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
             title: data.length ? undefined : { text: words.no_data, left: "center", top: "middle",
                                                textStyle: { fontSize: 13, color: "#999" } },
             series: [{ type: "pie", radius: ["35%", "65%"], data, label: { formatter: "{b}\n{d}%" } }] };
  }

  function cohorts(rows) {
    const columns = ["d1", "d7", "d30"];
    const ys = rows.map((row) => `${row.date} (${row.new_members ?? "—"})`);
    const data = [];
    rows.forEach((row, y) => columns.forEach((column, x) => {
      const share = row.retention[column];
      data.push([x, y, share === null ? "-" : Math.round(share * 1000) / 10]);
    }));
    return { animation: false,
             tooltip: { formatter: (p) => `${ys[p.value[1]]} ${words[columns[p.value[0]]]}: ${p.value[2]}%` },
             grid: { left: 130, right: 60, top: 8, bottom: 28 },
             xAxis: { type: "category", data: columns.map((c) => words[c]), splitArea: { show: true } },
             yAxis: { type: "category", data: ys, inverse: true, splitArea: { show: true },
                      axisLabel: { interval: 0 } },
             visualMap: { min: 0, max: 100, calculable: true, orient: "vertical", right: 0, top: "middle",
                          inRange: { color: ["#f4f8ff", "#2f6fdf"] }, text: ["100%", "0%"] },
             series: [{ name: words.retention, type: "heatmap", data, label: { show: rows.length <= 31 } }] };
  }

  function options(figures) {
    const s = figures.series;
    const dates = s.map((b) => b.date);
    const col = (key) => s.map((b) => b[key]);
    const totals = figures.totals;
    const last = s.length ? s[s.length - 1] : {};
    return {
      new_members: timeChart(dates, [[words.new_members, col("new_members"), "bar"]]),
      active_members: timeChart(dates, [[words.active_members, col("active_members")]]),
      signins: timeChart(dates, [[words.signins, col("signins"), "bar"], [words.makeups, col("makeups"), "bar"]]),
      points_issued: timeChart(dates, [[words.points_issued, col("points_issued")],
                                       [words.points_spent, col("points_spent")],
                                       [words.points_expired, col("points_expired")]]),
      points_spent: timeChart(dates, [[words.points_spent, col("points_spent")]]),
      points_expired: timeChart(dates, [[words.points_expired, col("points_expired")]]),
      points_outstanding: timeChart(dates, [], {
        legend: { top: 0 },
        yAxis: [{ type: "value" }, Object.assign({ position: "right" }, yuanAxis)],
        series: [{ name: words.points_outstanding, type: "line", data: col("points_outstanding") },
                 { name: words.liability_fen, type: "line", yAxisIndex: 1, data: col("liability_fen"),
                   tooltip: { valueFormatter: inYuan } }],
        grid: { left: 56, right: 64, top: 28, bottom: 24 } }),
      payments_fen: timeChart(dates, [[words.payments_fen, col("payments_fen"), "bar"],
                                      [words.refunds_fen, col("refunds_fen"), "bar"]],
                              { yAxis: yuanAxis, tooltip: { trigger: "axis", valueFormatter: inYuan } }),
      invitations: timeChart(dates, [[words.invitations, col("invitations"), "bar"],
                                     [words.invitations_qualified, col("invitations_qualified"), "bar"],
                                     [words.invitations_rewarded, col("invitations_rewarded"), "bar"]]),
      members_by_level: pie(last.members_by_level),
      points_issued_by_reason: pie(totals.points_issued_by_reason),
      points_spent_by_reason: pie(totals.points_spent_by_reason),
      cohorts: cohorts(figures.cohorts),
    };
  }

  const KPIS = [["new_members"], ["active_members"], ["signins"], ["makeups"], ["points_issued"],
                ["points_spent"], ["points_expired"], ["points_outstanding"], ["liability_fen", yuan],
                ["payments"], ["refunds"]];

  function kpis(figures) {
    const box = document.getElementById("kpis");
    box.replaceChildren(...KPIS.map(([key, shown]) => {
      const value = figures.totals[key];
      const change = figures.change[key];
      const card = document.createElement("div");
      card.className = "kpi card";
      card.dataset.kpi = key;
      const changed = change === null || change === undefined ? "—"
        : `${change > 0 ? "+" : ""}${(change * 100).toFixed(1)}%`;
      card.innerHTML = `<span class="label"></span><b class="value"></b>
                        <span class="change ${change > 0 ? "up" : change < 0 ? "down" : ""}"></span>`;
      card.querySelector(".label").textContent = words[key];
      card.querySelector(".value").textContent = value === null || value === undefined ? "—"
        : (shown ? shown(value) : value).toLocaleString();
      card.querySelector(".change").textContent = `${words.change} ${changed}`;
      card.querySelector(".change").dataset.change = changed;
      return card;
    }));
  }

  function draw(figures) {
    const all = options(figures);
    // a row per cohort day, each tall enough for its label
    document.querySelector('[data-chart="cohorts"]').style.height = `${Math.max(260, 40 + 18 * figures.cohorts.length)}px`;
    document.querySelectorAll("[data-chart], [data-pie]").forEach((el) => {
      const chart = echarts.getInstanceByDom(el) || echarts.init(el);
      chart.setOption(all[el.dataset.chart || el.dataset.pie], true);
    });
    kpis(figures);
    document.body.dataset.chartsReady = "1";
  }

  window.addEventListener("resize", () => document.querySelectorAll("[data-chart], [data-pie]").forEach((el) => {
    const chart = echarts.getInstanceByDom(el);
    if (chart) chart.resize();
  }));

  fetch(script.dataset.figures, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((answer) => { if (!answer.ok) throw new Error(answer.status); return answer.json(); })
    .then(draw)
    .catch((error) => {
      document.getElementById("kpis").textContent = `${words.no_data} (${error.message})`;
      document.body.dataset.chartsReady = "error";
    });
})();
