"""The SQL of the Stripe -> ledger derivation, run by ledger.py on DuckDB.

Written as chains of CTEs, each with a comment saying why it exists, over views named
`s_<dataset>` (the lake's typed columns). Kept in Python strings so they ship with the
package like any module.
"""

RECURRING_LINES = """
create or replace temp table _recurring_lines as
-- invoices that bill: void ones never happened, uncollectible ones count like void (not
-- paying is not revenue); deleted drafts never will
with billed_invoices as (
    select id, customer_id, created, status
    from s_invoices
    where coalesce(status, '') not in ('void', 'uncollectible') and not coalesce(deleted, false)
),

-- recurring prices carry the interval a line's amount is normalised by
recurring_prices as (
    select id, recurring_interval, recurring_interval_count, recurring_usage_type
    from s_prices
    where recurring_interval is not null
),

-- subscription lines of recurring prices; one-off items and setup fees fall out here
final as (
    select
        lines.id as line_id,
        lines.invoice_id,
        invoices.customer_id,
        invoices.created as invoice_created,
        invoices.status as invoice_status,
        lines.subscription_id,
        lines.price_id,
        lines.quantity,
        lower(lines.currency) as currency,
        lines.amount,
        lines.amount - coalesce(lines.discount_amount, 0) - coalesce(lines.tax_inclusive, 0)
            as net,
        cast(epoch(lines.period_start) as bigint) as period_start,
        cast(epoch(lines.period_end) as bigint) as period_end,
        prices.recurring_interval,
        coalesce(prices.recurring_interval_count, 1) as recurring_interval_count,
        coalesce(prices.recurring_usage_type = 'metered', false) as metered,
        -- 0 renewal/usage line, 1 proration credit (old state ends), 2 proration charge
        case
            when not coalesce(lines.proration, false) then 0
            when lines.amount < 0 then 1
            else 2
        end as kind
    from s_invoice_lines as lines
    inner join billed_invoices as invoices on lines.invoice_id = invoices.id
    inner join recurring_prices as prices on lines.price_id = prices.id
    where lines.subscription_id is not null
)

select * from final
"""

PRORATION_VALUES = """
create or replace temp table _proration_values as
-- fallback for a change the price arithmetic cannot value (custom amounts): what the next
-- renewal line bills for the same state
with charges as (
    select * from _recurring_lines where kind = 2
),

renewals as (
    select * from _recurring_lines where kind = 0
),

final as (
    select charges.line_id, min(renewals.net) as net
    from charges
    inner join renewals
        on renewals.subscription_id = charges.subscription_id
        and renewals.price_id = charges.price_id
        and renewals.period_start = charges.period_end
        and renewals.quantity is not distinct from charges.quantity
    group by charges.line_id
)

select * from final
"""

REVENUE_PERIODS = """
create or replace temp table _revenue_periods as
-- every line with the amount of one full period it stands for
with valued as (
    select
        lines.*,
        case when lines.kind = 2 then coalesce(prorations.net, lines.net) else lines.net end
            as period_net
    from _recurring_lines as lines
    left join _proration_values as prorations using (line_id)
),

-- each subscription x price is a stream; a later line supersedes an earlier one from its
-- start (at equal starts: renewal, then credit, then charge)
ordered as (
    select
        *,
        lead(period_start) over stream as next_start,
        lead(period_start) over stream is null as is_latest
    from valued
    window stream as (
        partition by subscription_id, price_id
        order by period_start, kind, invoice_created, line_id
    )
),

-- an `unpaid` subscription (Stripe stopped collecting) is not revenue from the start of
-- the period of its first unpaid invoice
unpaid as (
    select lines.subscription_id, min(lines.period_start) as unpaid_from
    from _recurring_lines as lines
    inner join s_subscriptions as subs on lines.subscription_id = subs.id
    where subs.status = 'unpaid' and lines.invoice_status = 'open' and lines.kind = 0
        and not lines.metered  -- usage lines bill the previous period
    group by lines.subscription_id
),

subscriptions as (
    select
        id,
        status,
        cast(epoch(ended_at) as bigint) as ended_at,
        cast(epoch(cancel_at) as bigint) as cancel_at,
        coalesce(cancel_at_period_end, false) as cancel_at_period_end,
        cancellation_reason,
        -- collection paused (`pause_collection`): the periods it does not bill are not revenue
        json_extract_string(raw, '$.pause_collection.behavior') is not null
            as collection_paused,
        unpaid.unpaid_from
    from s_subscriptions
    left join unpaid on s_subscriptions.id = unpaid.subscription_id
),

-- prices a subscription bills now: only those run on past their latest period
-- (and the start of each one's current period: a latest line that ended before it left
-- periods unbilled, e.g. voided while collection was paused, and does not run on)
current_prices as (
    select
        id as subscription_id,
        json_extract_string(item, '$.price.id') as price_id,
        max(try_cast(json_extract(item, '$.current_period_start') as bigint))
            as current_period_start
    from (
        select id, unnest(json_extract(raw, '$.items.data[*]')) as item
        from s_subscriptions
    )
    group by all
),

-- where each line's revenue stops
bounded as (
    select
        ordered.*,
        subscriptions.ended_at,
        subscriptions.cancellation_reason,
        subscriptions.status as subscription_status,
        subscriptions.unpaid_from,
        case
            when ordered.is_latest
                and not ordered.metered
                and subscriptions.status in ('active', 'past_due', 'trialing')
                and not subscriptions.cancel_at_period_end
                and not subscriptions.collection_paused
                and current_prices.price_id is not null
                and ordered.period_end
                    > coalesce(current_prices.current_period_start, ordered.period_start)
                then subscriptions.cancel_at  -- null: ongoing
            -- usage in arrears: the current period's usage is not invoiced yet, so the last
            -- invoiced usage amount carries on (provisional) until the invoice replaces it
            when ordered.is_latest
                and ordered.metered
                and subscriptions.status in ('active', 'past_due', 'trialing')
                and not subscriptions.collection_paused
                and current_prices.price_id is not null
                and ordered.period_end
                    >= coalesce(current_prices.current_period_start, ordered.period_end)
                then subscriptions.cancel_at
            else least(ordered.period_end, coalesce(ordered.next_start, ordered.period_end))
        end as open_end
    from ordered
    left join subscriptions on ordered.subscription_id = subscriptions.id
    left join current_prices
        on ordered.subscription_id = current_prices.subscription_id
        and ordered.price_id = current_prices.price_id
    where ordered.kind <> 1
),

-- revenue stops when the subscription ends, whatever the line said, or where an unpaid
-- subscription stopped paying
ended as (
    select
        *,
        case
            when coalesce(ended_at, unpaid_from) is null then open_end
            when open_end is null then least(ended_at, unpaid_from)
            else least(open_end, ended_at, unpaid_from)
        end as stop
    from bounded
    -- what an unpaid subscription's open invoices bill was never paid (usage included)
    where not (coalesce(subscription_status = 'unpaid' and invoice_status = 'open', false))
),

-- calendar days in the reporting timezone (floored) and the monthly amount
final as (
    select
        customer_id,
        subscription_id,
        price_id,
        currency,
        recurring_interval,
        recurring_interval_count,
        cast(timezone('{{ timezone }}', to_timestamp(period_start)) as date) as start_date,
        case
            when stop is null then null
            else cast(timezone('{{ timezone }}', to_timestamp(stop)) as date)
        end as end_date,
        cast(period_net as double)
            / pow(10, coalesce(minor.exponent, 2))
            / case recurring_interval
                when 'month' then recurring_interval_count
                when 'year' then 12 * recurring_interval_count
                when 'week' then recurring_interval_count * 12.0 / 52.0
                when 'day' then recurring_interval_count * 12.0 / 365.0
            end as mrr,
        ended_at,
        cancellation_reason,
        subscription_status
    from ended
    left join _minor_units as minor using (currency)
    where stop is null or stop > period_start
)

select * from final
where (end_date is null or end_date > start_date) and mrr > 0
"""

LEDGER = """
create or replace temp table _ledger as
-- every row of an ended subscription carries how it ended: the engine reads it on the
-- rows active at the last month end before a customer's revenue stops
with last_rows as (
    select
        *,
        -- the subscription's last revenue: none of it bills after the month this row ends
        end_date is null
            or max(start_date) over (partition by subscription_id)
                < date_trunc('month', end_date) + interval 1 month as is_last
    from _revenue_periods
),

kinds as (
    select
        *,
        -- a subscription still running stops bringing revenue only when it is not billed
        -- (collection paused, status paused: the customer's choice) or stopped paying
        -- (unpaid: Stripe gave up collecting)
        -- revenue of a subscription that bills again later was paused: voluntary
        case
            when not is_last then 'voluntary'
            when subscription_status = 'unpaid' then 'involuntary'
            when ended_at is null then 'voluntary'
            when cancellation_reason in ('payment_failed', 'payment_disputed')
                then 'involuntary'
            else 'voluntary'
        end as churn_kind
    from last_rows
),

-- the country on the latest invoice stands in when the customer has none (deleted ones)
invoice_country as (
    select customer_id, arg_max(customer_country, created) as country
    from s_invoices
    where customer_country is not null
    group by customer_id
),

final as (
    select
        kinds.customer_id,
        kinds.start_date,
        kinds.end_date,
        round(kinds.mrr, 6) as mrr,
        kinds.currency,
        kinds.churn_kind,
        coalesce(products.name, prices.nickname, prices.product_id) as plan,
        case
            when kinds.recurring_interval = 'month' and kinds.recurring_interval_count = 1
                then 'month'
            when kinds.recurring_interval = 'month' and kinds.recurring_interval_count = 3
                then 'quarter'
            when kinds.recurring_interval = 'month' and kinds.recurring_interval_count = 6
                then 'half-year'
            when kinds.recurring_interval = 'month' and kinds.recurring_interval_count = 12
                then 'year'
            when kinds.recurring_interval_count = 1 then kinds.recurring_interval
            else kinds.recurring_interval_count || ' ' || kinds.recurring_interval || 's'
        end as billing_interval,
        coalesce(c.country, invoice_country.country) as country,
        json_extract_string(c.metadata, '$.channel') as channel{{ metadata_columns }}
    from kinds
    left join s_prices as prices on kinds.price_id = prices.id
    left join s_products as products on prices.product_id = products.id
    left join s_customers as c on kinds.customer_id = c.id
    left join invoice_country on kinds.customer_id = invoice_country.customer_id
)

select * from final
"""
