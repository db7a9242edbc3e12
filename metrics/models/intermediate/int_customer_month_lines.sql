-- Each revenue period expanded to the month ends it is active at, then summed per customer,
-- month and segment key (currency + attribute values): several subscriptions, add-ons and
-- seats add up, and however a customer's periods are split into rows, the sums are the same.

-- periods with the integer customer and segment keys
with periods as (
    select
        customers.customer_key,
        segments.segment_key,
        periods.*
    from stg_ledger__revenue_periods as periods
    inner join int_customers as customers on periods.customer_id = customers.customer_id
    inner join int_segments as segments
        on periods.currency = segments.currency
        {%- for dim in attributes %}
        and periods.{{ q(dim) }} is not distinct from segments.{{ q(dim) }}
        {%- endfor %}
),

-- one row per period and counted month
expanded as (
    select
        customer_key,
        segment_key,
        currency,
        mrr,
        churn_kind,
        last_month_idx,
        unnest(range(first_month_idx, last_counted_idx + 1)) as month_idx
    from periods
),

final as (
    select
        customer_key,
        cast(month_idx as integer) as month_idx,
        segment_key,
        currency,
        cast(sum(mrr) as decimal(18, 6)) as native_mrr,
        -- the reason this revenue stops after this month, where the source knows it
        bool_or(last_month_idx = month_idx and churn_kind = 'involuntary') as ends_involuntary,
        bool_or(last_month_idx = month_idx and churn_kind = 'voluntary') as ends_voluntary
    from expanded
    group by all
)

select * from final
