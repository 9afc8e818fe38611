// The dashboard's chart, from the JSON island the page carries (no build step).
(function () {
  var el = document.getElementById('trend');
  var data = document.getElementById('trend-data');
  if (!el || !data || !window.echarts) return;
  var d = JSON.parse(data.textContent);
  var num = function (v) { return v === null ? null : Number(v); };
  var chart = window.echarts.init(el);
  chart.setOption({
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
  });
  window.addEventListener('resize', function () { chart.resize(); });
})();
// The income disclosure chart on the reports page.
(function () {
  var el = document.getElementById('income');
  var data = document.getElementById('income-data');
  if (!el || !data || !window.echarts) return;
  var d = JSON.parse(data.textContent);
  var chart = window.echarts.init(el);
  chart.setOption({
    tooltip: { trigger: 'axis' },
    legend: { data: ['代理人数 Agents', '净收入合计 Total net'] },
    grid: { left: 60, right: 70, top: 40, bottom: 40 },
    xAxis: { type: 'category', data: d.bands },
    yAxis: [{ type: 'value', name: '人 agents' }, { type: 'value', name: '¥' }],
    series: [
      { name: '代理人数 Agents', type: 'bar', data: d.agents, itemStyle: { color: '#c2410c' } },
      { name: '净收入合计 Total net', type: 'line', yAxisIndex: 1, data: d.net.map(Number) }
    ]
  });
  window.addEventListener('resize', function () { chart.resize(); });
})();
// The growth page's chart: repurchase and retention (%) as lines, new and returning
// customers as bars (the recruitment rate can pass 100% and stays in the cards and table).
(function () {
  var el = document.getElementById('growth-chart');
  var data = document.getElementById('growth-data');
  if (!el || !data || !window.echarts) return;
  var d = JSON.parse(data.textContent);
  var num = function (v) { return v === null ? null : Number(v); };
  var chart = window.echarts.init(el);
  chart.setOption({
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
  });
  window.addEventListener('resize', function () { chart.resize(); });
})();
