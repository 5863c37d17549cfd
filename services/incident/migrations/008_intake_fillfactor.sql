-- Intake updates the row of every alert it hears about (status, times) and
-- the row of its incident (counts) in every batch. With room left on each
-- page those updates stay HOT: no new index entries, no index bloat, no
-- bottom-up index deletion on the write path. Applies to pages written from
-- now on.
ALTER TABLE incident.alerts SET (fillfactor = 50);
ALTER TABLE incident.incidents SET (fillfactor = 50);
