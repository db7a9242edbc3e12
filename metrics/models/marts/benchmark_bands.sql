-- Benchmark bands from the seeds, as a table users can read next to the figures they band.
-- NRR bands by ACV segment and for the company; GRR bands for every segment.
-- Bounds are fractions (1.05 = 105%); a null bound is open.

with seed as (
    select * from read_csv('{{ seed("benchmark_bands") }}', header = true, auto_detect = true)
),

final as (
    select
        scope,
        metric,
        band,
        rank,
        cast(lower_bound as double) as lower_bound,
        cast(lower_inclusive as boolean) as lower_inclusive,
        cast(upper_bound as double) as upper_bound,
        cast(upper_inclusive as boolean) as upper_inclusive,
        source
    from seed
)

select * from final
