-- The roller updates a customer's daily and monthly rows (and a dimension's
-- hourly row) in place, once per roll that holds any of their records. In
-- full pages each update wrote its new version to another page, with a new
-- index entry, and left the old one for the next upserts to step over
-- until vacuum: on a 10-million-record ledger 5 % of the daily rollup's
-- updates were HOT (heap-only) and the roller folded 6,700 records/s. With
-- room left in each page the new version stays on its page, without an
-- index entry. Existing pages keep their fill (no rewrite, so this
-- migration is instant); a row moves to a page with room at its next
-- update, and stays there: on that ledger, after the first 400,000
-- records rolled, 90 to 95 % of the updates were HOT and the roller folded
-- 14,000 to 16,000 records/s (docs/performance.md, stop 24).
ALTER TABLE usage_customer_daily SET (fillfactor = 70);
ALTER TABLE usage_customer_monthly SET (fillfactor = 70);
ALTER TABLE usage_dimension_hourly SET (fillfactor = 70);
