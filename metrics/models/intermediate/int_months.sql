-- The month spine: every month from the first counted month to the as-of month, plus the
-- longest window's worth of months before it (window starts need their exchange rates).

-- first counted month of the ledger (the as-of month for an empty ledger)
with bounds as (
    select
        coalesce(min(periods.first_month_idx), any_value(parameters.as_of_idx)) as first_idx,
        any_value(parameters.as_of_idx) as as_of_idx,
        any_value(parameters.max_window) as max_window
    from run_parameters as parameters
    left join stg_ledger__revenue_periods as periods on true
),

final as (
    select
        cast(idx as integer) as month_idx,
        make_date(cast(idx // 12 as integer), cast(idx % 12 + 1 as integer), 1) as month,
        idx >= bounds.first_idx as in_history
    from bounds
    cross join range(bounds.first_idx - bounds.max_window, bounds.as_of_idx + 1) as spine(idx)
)

select * from final
