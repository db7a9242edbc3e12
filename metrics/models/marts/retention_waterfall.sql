-- config: view
-- The NRR waterfall of any window: start at 100%, minus contraction, minus churn, plus
-- expansion, lands on NRR. `level` is where the bar ends after the step.

with windows as (
    select * from retention_windows where nrr is not null
),

steps as (
    select as_of, window_months, dimension, segment, 1 as step_order, 'start' as step,
        1.0 as change, 1.0 as level
    from windows
    union all
    select as_of, window_months, dimension, segment, 2, 'contraction',
        -contraction_rate, 1.0 - contraction_rate
    from windows
    union all
    select as_of, window_months, dimension, segment, 3, 'churn',
        -churn_rate, 1.0 - contraction_rate - churn_rate
    from windows
    union all
    select as_of, window_months, dimension, segment, 4, 'expansion',
        expansion_rate, 1.0 - contraction_rate - churn_rate + expansion_rate
    from windows
    union all
    select as_of, window_months, dimension, segment, 5, 'nrr', nrr, nrr
    from windows
),

final as (
    select * from steps
)

select * from final
