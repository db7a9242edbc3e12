-- Twin, metrics.md section 3: every cohort member of every window (m0, m1] ending at the
-- closed month m1 and its start_c
-- and end_c. The cohort is every customer with MRR(c, m0) > 0; start_c = MRR(c, m0); end_c
-- is what it pays at m1 at m0's exchange rates, except that under `exclude` a member whose
-- MRR was 0 at a month end inside the window has end_c = 0 and its payment is reactivated.

-- what each customer pays at the closed month m1 (nothing without a row) and how many month
-- ends it has paid at by then
with at_end as (
    select customer_id, mrr as mrr_at_end, paying_months as paying_months_at_end
    from twin_customer_mrr
    where month = {{ as_of }}
),

-- the cohort: for each configured length n, the window (m0, m1] with m0 = m1 - n months
-- (the close publishes the closed month's windows), each customer paying at m0 at what it
-- paid then, with its segments as of m0 (nobody moves segments in a window)
cohort as (
    select
        {{ as_of }} as as_of,
        lengths.window_months,
        start.month as start_month,
        start.customer_id,
        start.mrr as start_c,
        start.acv_band,
        {%- for dim in dimensions %}
        start.{{ q(dim) }},
        {%- endfor %}
        start.paying_months as paying_months_at_start,
        at_end.mrr_at_end,
        at_end.paying_months_at_end
    from (select unnest([{{ windows | join(", ") }}]) as window_months) as lengths
    inner join twin_customer_mrr as start
        on start.month = cast({{ as_of }} - to_months(lengths.window_months) as date)
    left join at_end on at_end.customer_id = start.customer_id
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
        and published.as_of = {{ as_of }}
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
