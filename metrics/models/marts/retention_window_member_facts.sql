-- Every cohort member of every window, compactly: one row per customer, window length and
-- run of window ends (first_as_of .. last_as_of) over which its figures stay the same, the
-- customer as its key into customer_cohorts and its segment at m0 as a key into
-- customer_segments. retention_window_members is the readable view, one row per window.

with members as (
    select * from int_window_members
),

final as (
    select
        {{ month_date("members.first_as_of_idx") }} as first_as_of,
        {{ month_date("members.last_as_of_idx") }} as last_as_of,
        cast(members.window_months as integer) as window_months,
        members.customer_key,
        members.segment_key,
        {{ acv_band_name("members.acv_band_code") }} as acv_band,
        members.fate,
        cast(members.start_c as double) as start_mrr,
        cast(members.paid_end_c as double) as paid_end_mrr,
        cast(members.end_c as double) as end_mrr,
        cast(members.reactivated_c as double) as reactivated_mrr
    from members
)

select * from final
