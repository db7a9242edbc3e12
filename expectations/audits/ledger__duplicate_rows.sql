-- Rows repeated exactly (same customer, dates, amount, currency and attributes): rows of a
-- customer may overlap and add up, but an identical copy usually means a double export.
with keyed as (
    select _row, customer_id, struct_pack(*columns(* exclude (_row))) as row_values
    from ledger
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
