-- The backbone: one row per customer and month in which the customer has MRR > 0.
-- `mrr` is in reporting currency at the month's own rate; `mrr_at_rate_lag_<n>` is the same
-- revenue at the rate of n months earlier, so an n-month window can compare start and end
-- at one rate (constant currency: exchange-rate moves never look like expansion or churn).
-- In a single-currency ledger they equal `mrr` and are not stored (see `at_rate_lag`).
-- A customer absent in a month has MRR 0 that month. `ahead_idx_<n>` / `ahead_mrr_<n>` are
-- the month and MRR (at this month's rate) of the customer's row n rows later.

-- lines converted at the month's rate and at each window start's rate
{%- if single_currency %}
-- (a single-currency ledger in the reporting currency needs no conversion)
with converted as (
    select lines.*, lines.native_mrr as line_mrr from int_customer_month_lines as lines
),
{%- else %}
with converted as (
    select
        lines.*,
        {{ convert("lines.native_mrr", "fx.rate_exact") }} as line_mrr,
        {%- for n in windows %}
        {{ convert("lines.native_mrr", "fx_" ~ n ~ ".rate_exact") }}
            as line_mrr_at_rate_lag_{{ n }},
        {%- endfor %}
    from int_customer_month_lines as lines
    inner join int_fx_monthly as fx
        on lines.currency = fx.currency and lines.month_idx = fx.month_idx
    {%- for n in windows %}
    inner join int_fx_monthly as fx_{{ n }}
        on lines.currency = fx_{{ n }}.currency and lines.month_idx - {{ n }} = fx_{{ n }}.month_idx
    {%- endfor %}
),
{%- endif %}

-- one row per customer and month; the largest line names the customer's segment
-- (its amount in cents, then its segment key, packed in one 64-bit number: max picks it)
customer_month as (
    select
        customer_key,
        month_idx,
        sum(line_mrr) as mrr,
        {%- if not single_currency %}
        {%- for n in windows %}
        sum(line_mrr_at_rate_lag_{{ n }}) as mrr_at_rate_lag_{{ n }},
        {%- endfor %}
        {%- endif %}
        max(
            cast(round(line_mrr * 100) as bigint) * 1048576 + segment_key
        ) as primary_line,
        bool_or(ends_involuntary) as ends_involuntary,
        bool_or(ends_voluntary) as ends_voluntary
    from converted
    group by customer_key, month_idx
    having sum(line_mrr) > 0
),

-- neighbours in time: what the movements, islands and cohorts are read from
sequenced as (
    select
        customer_key,
        month_idx,
        cast(mrr as decimal(18, 6)) as mrr,
        {%- if not single_currency %}
        {%- for n in windows %}
        cast(mrr_at_rate_lag_{{ n }} as decimal(18, 6)) as mrr_at_rate_lag_{{ n }},
        {%- endfor %}
        {%- endif %}
        cast(primary_line % 1048576 as integer) as segment_key,
        case
            when ends_involuntary then 'involuntary'
            when ends_voluntary then 'voluntary'
        end as ending_kind,
        lag(month_idx) over by_month as prev_idx,
        cast(lag(mrr) over by_month as decimal(18, 6)) as prev_mrr,
        cast(lag(primary_line) over by_month % 1048576 as integer) as prev_line_key,
        lead(month_idx) over by_month as next_idx,
        -- n rows ahead: when that row is month + n, the customer paid every month in between
        -- (what a window of n months needs, without a self-join)
        {%- for n in windows %}
        lead(month_idx, {{ n }}) over by_month as ahead_idx_{{ n }},
        {%- if single_currency %}
        cast(lead(mrr, {{ n }}) over by_month as decimal(18, 6)) as ahead_mrr_{{ n }},
        {%- else %}
        cast(lead(mrr_at_rate_lag_{{ n }}, {{ n }}) over by_month as decimal(18, 6))
            as ahead_mrr_{{ n }},
        {%- endif %}
        {%- endfor %}
        -- consecutive months share a run id (gaps and islands)
        month_idx - row_number() over by_month as run_id,
        first_value(month_idx) over by_month as first_month_idx
    from customer_month
    window by_month as (partition by customer_key order by month_idx)
),

final as (
    select
        sequenced.* exclude (prev_line_key),
        {{ acv_band("sequenced.mrr") }} as acv_band,
        case when prev_idx = month_idx - 1 then prev_line_key end as prev_segment_key,
        case
            when prev_idx = month_idx - 1 then {{ acv_band("sequenced.prev_mrr") }}
        end as prev_acv_band
    from sequenced
    cross join run_parameters as parameters
)

select * from final
