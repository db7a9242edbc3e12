{%- from "macros.sql" import cent_tolerance %}
-- The company-level closing MRR of each month must equal the sum of the customer-month
-- table for that month: the bridge and the backbone must tell the same story.
with customer_totals as (
    select month, sum(mrr) as customer_mrr
    from customer_mrr_monthly
    group by month
)

select
    bridge.month,
    bridge.closing_mrr,
    coalesce(customer_totals.customer_mrr, 0) as customer_mrr,
    bridge.closing_mrr - coalesce(customer_totals.customer_mrr, 0) as difference
from mrr_bridge as bridge
left join customer_totals on bridge.month = customer_totals.month
where bridge.dimension = 'all'
    and abs(bridge.closing_mrr - coalesce(customer_totals.customer_mrr, 0)) >= {{ cent_tolerance() }}
order by bridge.month
