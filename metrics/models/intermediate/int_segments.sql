-- Every distinct combination of currency and attribute values (plan, country, ...) gets one
-- small integer key. The wide backbone carries the key instead of the texts, and the marts
-- look the texts up here. Keys follow the values' sort order, so "the largest key" breaks
-- ties the same way every run.

-- the combinations the ledger uses
with combinations as (
    select distinct
        currency
        {%- for dim in attributes %},
        {{ q(dim) }}
        {%- endfor %}
    from stg_ledger__revenue_periods
),

final as (
    select
        cast(row_number() over (
            order by currency nulls first
            {%- for dim in attributes %}, {{ q(dim) }} nulls first{% endfor %}
        ) as integer) as segment_key,
        *
    from combinations
)

select * from final
