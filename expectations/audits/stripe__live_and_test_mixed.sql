-- Live-mode and test-mode objects in the same lake (a key was swapped between runs): test
-- customers would be counted as revenue. One row per mode when both are present.
with modes as (
    select 'customers' as dataset, livemode from customers
    union all
    select 'subscriptions', livemode from subscriptions
    union all
    select 'invoices', livemode from invoices
),

counted as (
    select livemode, count(*) as objects, string_agg(distinct dataset, ', ') as datasets
    from modes
    where livemode is not null
    group by livemode
)

select * from counted
where (select count(*) from counted) > 1
order by livemode
