-- Benchmark bands from the seeds, as a table users can read next to the figures they band.
-- NRR bands by ACV segment and for the company; GRR bands for every segment.
-- Bounds are fractions (1.05 = 105%); a null bound is open.

with seed as (
    -- (columns named: no sniffing of the file on every run)
    select * from read_csv('{{ seed("benchmark_bands") }}', header = true, columns = {
        'scope': 'varchar', 'metric': 'varchar', 'band': 'varchar', 'rank': 'integer',
        'lower_bound': 'double', 'lower_inclusive': 'boolean', 'upper_bound': 'double',
        'upper_inclusive': 'boolean', 'source': 'varchar'
    })
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
