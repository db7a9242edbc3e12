"""The Jinja2 template of the HTML close report (kept apart so html.py stays readable)."""

TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Revenue retention · {{ s.period.strftime('%B %Y') }} close</title>
<style>
  body { font: 15px/1.45 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
         color: #1d1d1f; max-width: 1100px; margin: 2rem auto; padding: 0 1rem; }
  h1 { margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
  .meta { color: #666; } .cards { display: flex; flex-wrap: wrap; gap: 1rem; }
  .card { border: 1px solid #ddd; border-radius: 8px; padding: .8rem 1.1rem; min-width: 200px; }
  .card .value { font-size: 2rem; font-weight: 600; }
  table { border-collapse: collapse; margin: .6rem 0; }
  th, td { padding: .3rem .7rem; border-bottom: 1px solid #eee; text-align: right; }
  th:first-child, td:first-child, td.text { text-align: left; }
  .band { border-radius: 4px; padding: .05rem .45rem; font-size: .85rem; white-space: nowrap; }
  .band.top { background: #c7e9c0; } .band.ok { background: #e5f5e0; }
  .band.mid { background: #fff3bf; } .band.low { background: #fdd0a2; }
  .band.bad { background: #fcbba1; } .band.none { background: #eee; }
  .warning { background: #fff4e5; border-left: 4px solid #f08c00; padding: .6rem 1rem; }
  .fine { background: #ebfbee; border-left: 4px solid #2f9e44; padding: .6rem 1rem; }
  img { max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>Revenue retention · {{ s.period.strftime('%B %Y') }} close</h1>
<p class="meta">Snapshot {{ s.snapshot_id }} v{{ s.snapshot_version }} ·
  amounts in {{ f.currency | upper }} · reactivations {{ f.reactivation_policy }}d ·
  generated {{ generated }}</p>

<h2 id="headline">Headline</h2>
<div class="cards">
  <div class="card"><div>NRR, trailing 12 months</div>
    <div class="value">{{ h.nrr | pct }}</div>
    <span class="band {{ h.benchmark_band | band_class }}">
      {{ h.benchmark_band or 'no band' }}</span>
    {{ nrr_change }} vs last month</div>
  <div class="card"><div>GRR, trailing 12 months</div>
    <div class="value">{{ h.grr | pct }}</div>
    <span class="band {{ h.grr_band | band_class }}">{{ h.grr_band or 'no band' }}</span>
    {{ grr_change }} vs last month</div>
  <div class="card"><div>{{ f.as_of.strftime('%B') }} alone</div>
    <div class="value">{{ f.monthly.nrr | pct }}</div>
    NRR, {{ f.monthly.nrr_annualised | pct }} annualised · GRR {{ f.monthly.grr | pct }}</div>
  <div class="card"><div>Last 3 months</div>
    <div class="value">{{ f.quarterly.nrr | pct }}</div>NRR · GRR {{ f.quarterly.grr | pct }}</div>
</div>
<p>{{ '{:,}'.format(h.cohort_customers) }} customers had {{ h.start_mrr | money }} MRR twelve
  months ago; {{ h.logo_retention | pct }} of them still pay. Reactivated MRR
  {{ h.reactivated_mrr | money }} ({{ 'outside' if f.reactivation_policy == 'exclude'
  else 'inside' }} NRR).</p>

<h2 id="trend">Trend</h2>
<img src="{{ images.trend }}" alt="NRR and GRR over the last 24 months on benchmark bands">

<h2 id="waterfall">Waterfall (trailing 12 months)</h2>
<img src="{{ images.waterfall }}" alt="NRR waterfall">
<table>
  <tr><th>Step</th><th>Share of starting MRR</th><th>Amount</th></tr>
  <tr><td>Start</td><td>100.0%</td><td>{{ h.start_mrr | money }}</td></tr>
  <tr><td>− Contraction</td><td>{{ h.contraction_rate | pct }}</td>
      <td>{{ h.contraction | money }}</td></tr>
  <tr><td>− Churn</td><td>{{ h.churn_rate | pct }}</td><td>{{ h.churn | money }}</td></tr>
  <tr><td>+ Expansion</td><td>{{ h.expansion_rate | pct }}</td>
      <td>{{ h.expansion | money }}</td></tr>
  <tr><td><b>= NRR</b></td><td><b>{{ h.nrr | pct }}</b></td><td>{{ h.end_mrr | money }}</td></tr>
</table>

<h2 id="bridge">MRR bridge, {{ f.as_of.strftime('%B %Y') }}</h2>
<table>
{% for label, amount in bridge_lines %}
  <tr><td>{{ label }}</td><td>{{ amount | money }}</td></tr>
{% endfor %}
</table>
<p>Churned MRR over the last 12 months: voluntary {{ f.churn_by_kind.voluntary | money }},
  involuntary {{ f.churn_by_kind.involuntary | money }}{% if f.churn_by_kind.unknown %},
  unknown {{ f.churn_by_kind.unknown | money }}{% endif %}.</p>

<h2 id="segments">Segments (trailing 12 months, segment as of window start)</h2>
{% for dimension, rows in dimensions.items() %}
<h3>{{ dimension }}</h3>
<table>
  <tr><th>Segment</th><th>Customers</th><th>Start MRR</th><th>NRR</th><th>Band</th>
      <th>GRR</th><th>GRR band</th></tr>
  {% for r in rows %}
  <tr><td>{{ r.segment }}</td><td>{{ '{:,}'.format(r.cohort_customers) }}</td>
      <td>{{ r.start_mrr | money }}</td><td>{{ r.nrr | pct }}</td>
      <td class="text"><span class="band {{ r.benchmark_band | band_class }}">
        {{ r.benchmark_band or 'no band' }}</span></td>
      <td>{{ r.grr | pct }}</td>
      <td class="text"><span class="band {{ r.grr_band | band_class }}">
        {{ r.grr_band or 'no band' }}</span></td></tr>
  {% endfor %}
</table>
{% endfor %}

<h2 id="cohorts">Acquisition cohorts</h2>
{% set warned = comparisons | selectattr('warning') | list %}
<div class="{{ 'warning' if warned else 'fine' }}">
{% if not comparisons %}
  Fewer than {{ 2 * group_size }} cohorts have reached month 6: no comparison yet.
{% else %}
  <b>{{ 'Warning sign: newer cohorts retain worse than older ones.' if warned
        else 'Newer cohorts retain in line with older ones.' }}</b>
  <ul>{% for c in comparisons %}
    <li>Month {{ c.age_months }}: the last {{ group_size }} cohorts
      ({{ c.newer_cohorts[0].strftime('%Y-%m') }} to {{ c.newer_cohorts[-1].strftime('%Y-%m') }})
      average {{ c.newer_mean | pct }} NRR vs {{ c.older_mean | pct }} for the
      {{ group_size }} before ({{ (c.newer_mean - c.older_mean) | points }}).</li>
  {% endfor %}</ul>
  The sign is raised when the newer cohorts trail by more than {{ warning_points }} points.
{% endif %}
</div>
<img src="{{ images.cohorts }}" alt="Cohort NRR heatmap by age">
<table>
  <tr><th>Cohort</th><th>Customers</th><th>Start MRR</th>
    {% for age in curve_ages %}<th>NRR / GRR m{{ age }}</th>{% endfor %}</tr>
  {% for c in f.cohorts %}
  <tr><td>{{ c.cohort_month.strftime('%Y-%m') }}</td><td>{{ c.customers }}</td>
    <td>{{ c.start_mrr | money }}</td>
    {% for age in curve_ages %}<td>{% if age in c.nrr %}{{ c.nrr[age] | pct(0) }} /
      {{ c.grr[age] | pct(0) }}{% endif %}</td>{% endfor %}</tr>
  {% endfor %}
</table>

<h2 id="data-quality">Data quality</h2>
{% if s.data_quality_warnings %}
<div class="warning"><b>{{ s.data_quality_warnings | length }} warning(s)</b>
  (not blocking; the snapshot was published):
  <ul>{% for w in s.data_quality_warnings %}<li>{{ w }}</li>{% endfor %}</ul></div>
{% else %}
<div class="fine">Every data-quality check passed.</div>
{% endif %}

<h2 id="restatements">Restatements</h2>
{% if s.restatements %}
<p>Figures published by an earlier snapshot version that moved in v{{ s.snapshot_version }}:</p>
<table>
  <tr><th>Month</th><th>Window</th><th>Dimension</th><th>Segment</th><th>Metric</th>
      <th>Was</th><th>Now</th><th>Change</th></tr>
  {% for r in s.restatements %}
  <tr><td>{{ r.as_of.strftime('%Y-%m') }}</td><td>{{ r.window_months }} months</td>
    <td class="text">{{ r.dimension }}</td><td class="text">{{ r.segment }}</td>
    <td class="text">{{ r.metric }}</td>
    {% if r.is_ratio %}<td>{{ r.old | pct }}</td><td>{{ r.new | pct }}</td>
      <td>{{ r.delta | points }}</td>
    {% else %}<td>{{ r.old | money }}</td><td>{{ r.new | money }}</td>
      <td>{{ r.delta | money }}</td>{% endif %}</tr>
  {% endfor %}
</table>
{% else %}
<p>None: no published figure moved{{ '' if s.snapshot_version > 1 else
  ' (first snapshot of this month)' }}.</p>
{% endif %}
</body>
</html>
"""
