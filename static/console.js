// The console's charts, each from the JSON island its page carries (no build step).
(function () {
function chartFrom(id, dataId, options) {
  var el = document.getElementById(id);
  var data = document.getElementById(dataId);
  if (!el || !data || !window.echarts) return;
  var chart = window.echarts.init(el);
  chart.setOption(options(JSON.parse(data.textContent)));
  window.addEventListener('resize', function () { chart.resize(); });
}
var num = function (v) { return v === null ? null : Number(v); };

// The dashboard: purchases and retail by month, and the retail share.
chartFrom('trend', 'trend-data', function (d) {
  return {
    tooltip: { trigger: 'axis' },
    legend: { data: ['进货 Purchases', '零售 Retail', '零售占比 Retail share'] },
    grid: { left: 60, right: 50, top: 40, bottom: 30 },
    xAxis: { type: 'category', data: d.months },
    yAxis: [{ type: 'value', name: '¥' }, { type: 'value', name: '%', min: 0, max: 100 }],
    series: [
      { name: '进货 Purchases', type: 'bar', data: d.purchases.map(num), itemStyle: { color: '#9ca3af' } },
      { name: '零售 Retail', type: 'bar', data: d.retail.map(num), itemStyle: { color: '#c2410c' } },
      { name: '零售占比 Retail share', type: 'line', yAxisIndex: 1, data: d.share.map(function (s) { return s === null ? null : Math.round(Number(s) * 10000) / 100; }) }
    ]
  };
});

// The reports page: the income disclosure.
chartFrom('income', 'income-data', function (d) {
  return {
    tooltip: { trigger: 'axis' },
    legend: { data: ['代理人数 Agents', '净收入合计 Total net'] },
    grid: { left: 60, right: 70, top: 40, bottom: 40 },
    xAxis: { type: 'category', data: d.bands },
    yAxis: [{ type: 'value', name: '人 agents' }, { type: 'value', name: '¥' }],
    series: [
      { name: '代理人数 Agents', type: 'bar', data: d.agents, itemStyle: { color: '#c2410c' } },
      { name: '净收入合计 Total net', type: 'line', yAxisIndex: 1, data: d.net.map(Number) }
    ]
  };
});

// The growth page: repurchase and retention (%) as lines, new and returning customers as
// bars (the recruitment rate can pass 100% and stays in the cards and table).
chartFrom('growth-chart', 'growth-data', function (d) {
  return {
    tooltip: { trigger: 'axis' },
    legend: { data: ['复购率 Repurchase', '代理留存 Retention', '新客 New', '回头客 Returning'] },
    grid: { left: 50, right: 50, top: 50, bottom: 30 },
    xAxis: { type: 'category', data: d.months },
    yAxis: [{ type: 'value', name: '%', min: 0, max: 100 }, { type: 'value', name: '人 customers' }],
    series: [
      { name: '新客 New', type: 'bar', yAxisIndex: 1, stack: 'c', data: d.new_customers, itemStyle: { color: '#fdba74' } },
      { name: '回头客 Returning', type: 'bar', yAxisIndex: 1, stack: 'c', data: d.returning, itemStyle: { color: '#c2410c' } },
      { name: '复购率 Repurchase', type: 'line', data: d.repurchase.map(num) },
      { name: '代理留存 Retention', type: 'line', data: d.retention.map(num) }
    ]
  };
});
})();
