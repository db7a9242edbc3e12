-- Twin, metrics.md section 3: every cohort member of every window (m0, m1] and its start_c
-- and end_c. The cohort is every customer with MRR(c, m0) > 0; start_c = MRR(c, m0); end_c
-- is what it pays at m1 at m0's exchange rates, except that under `exclude` a member whose
-- MRR was 0 at a month end inside the window has end_c = 0 and its payment is reactivated.

-- each paying month m0 with what the customer pays n months later (nothing without a row)
-- and how many month ends it has paid at by then, for each configured length n
with ahead as (
    select
        *,
        {%- for n in windows %}
        first_value(mrr) over (
            by_month range between interval {{ n }} month following
            and interval {{ n }} month following
        ) as mrr_at_end_{{ n }},
        first_value(paying_months) over (
            by_month range between interval {{ n }} month following
            and interval {{ n }} month following
        ) as paying_months_at_end_{{ n }},
        {%- endfor %}
    from twin_customer_mrr
    window by_month as (partition by customer_id order by month)
),

-- the cohort: every window (m0, m0 + n] ending by the closed month, each customer paying at
-- m0 at what it paid then, with its segments as of m0 (nobody moves segments in a window)
cohort as (
    select
        cast(ahead.month + to_months(lengths.window_months) as date) as as_of,
        lengths.window_months,
        ahead.month as start_month,
        ahead.customer_id,
        ahead.mrr as start_c,
        ahead.acv_band,
        {%- for dim in dimensions %}
        ahead.{{ q(dim) }},
        {%- endfor %}
        ahead.paying_months as paying_months_at_start,
        case lengths.window_months
            {%- for n in windows %}
            when {{ n }} then ahead.mrr_at_end_{{ n }}
            {%- endfor %}
        end as mrr_at_end,
        case lengths.window_months
            {%- for n in windows %}
            when {{ n }} then ahead.paying_months_at_end_{{ n }}
            {%- endfor %}
        end as paying_months_at_end
    from ahead
    cross join (select unnest([{{ windows | join(", ") }}]) as window_months) as lengths
    where ahead.month + to_months(lengths.window_months) <= {{ as_of }}
),

-- what each member pays at m1 at m0's rates, as published in retention_window_members
-- (constant currency; in the reporting currency it is MRR(c, m1))
ends as (
    select
        cohort.*,
        published.paid_end_mrr as published_paid_end
    from cohort
    left join retention_window_members as published
        on published.as_of = cohort.as_of
        and published.window_months = cohort.window_months
        and published.customer_id = cohort.customer_id
        and published.dimension = 'all'
),

-- back after a gap: pays at m1 but paid at fewer month ends from m0 up to m1 than passed
flagged as (
    select
        *,
        case when mrr_at_end is null then 0 else coalesce(published_paid_end, mrr_at_end) end
            as paid_end_c,
        mrr_at_end is not null and paying_months_at_end - paying_months_at_start < window_months
            as reactivated
    from ends
),

-- end_c under the reactivation policy ({{ reactivation_policy }})
final as (
    select
        as_of,
        window_months,
        start_month,
        customer_id,
        acv_band,
        {%- for dim in dimensions %}
        {{ q(dim) }},
        {%- endfor %}
        start_c,
        paid_end_c,
        reactivated,
        case
            when reactivated and {{ literal(reactivation_policy) }} = 'exclude' then 0
            else paid_end_c
        end as end_c,
        case when reactivated then paid_end_c else 0 end as reactivated_c
    from flagged
)

select * from final
