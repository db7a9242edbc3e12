-- Every member of every acquisition cohort, as ranges: one row per customer spell, with the
-- ages (months since the cohort month k) it covers, the member's MRR at k (start_c) and what
-- it pays in the spell at k's exchange rates (paid_c), and end_c under the reactivation
-- policy (a member that left and came back is outside its first run of paying months and
-- counts as churned under `exclude`; what it pays is reactivated_c). Read by
-- cohort_retention (summed) and cohort_retention_member_facts (published).

with parameters as (
    select * from run_parameters
),

-- each spell's MRR at the rate of its customer's cohort month (constant within the spell)
{%- if single_currency %}
valued as (
    select
        customer_key, spell_start_idx, spell_end_idx, run_start_idx, first_month_idx,
        last_mrr as value_c
    from int_spells
),
{%- else %}
valued as (
    select
        spells.customer_key,
        spells.spell_start_idx,
        any_value(spells.spell_end_idx) as spell_end_idx,
        any_value(spells.run_start_idx) as run_start_idx,
        any_value(spells.first_month_idx) as first_month_idx,
        sum({{ to_reporting_currency("lines.native_mrr", "fx.rate_exact") }}) as value_c
    from int_spell_lines as lines
    inner join int_spells as spells
        on lines.customer_key = spells.customer_key
        and lines.spell_start_idx = spells.spell_start_idx
    inner join int_fx_monthly as fx
        on lines.currency = fx.currency and spells.first_month_idx = fx.month_idx
    group by spells.customer_key, spells.spell_start_idx
),
{%- endif %}

-- each member's MRR in its cohort month
starts as (
    select customer_key, value_c as start_c
    from valued
    where spell_start_idx = first_month_idx
),

-- what each spell adds to every age it covers, under the reactivation policy (a member that
-- left and came back is outside its first run of paying months)
final as (
    select
        valued.customer_key,
        valued.first_month_idx as cohort_idx,
        valued.spell_start_idx - valued.first_month_idx as first_age,
        valued.spell_end_idx - valued.first_month_idx as last_age,
        starts.start_c,
        valued.value_c as paid_c,
        case
            when parameters.reactivation_policy = 'include'
                or valued.run_start_idx = valued.first_month_idx
                then valued.value_c
            else 0
        end as end_c,
        case
            when valued.run_start_idx <> valued.first_month_idx then valued.value_c
            else 0
        end as reactivated_c
    from valued
    cross join parameters
    inner join starts on valued.customer_key = starts.customer_key
)

select * from final
