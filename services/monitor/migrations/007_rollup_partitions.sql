-- 1-minute rollups partitioned by UTC day (declarative range partitions on
-- `bucket`), so that retention drops whole days instead of deleting rows.
-- Partitions are named rollups_1m_pYYYYMMDD and cover [day, day + 1) in UTC.
-- The store creates the partition of a day before it first writes into it
-- (store/rollup_partitions.h, under an advisory lock so replicas never race);
-- a maintenance worker creates the coming days ahead and drops the days past
-- the retention (agentwatch-monitor --rollup_retention).
--
-- The existing rows move into one partition per day they cover; nothing is
-- lost. The table keeps its columns, their order and its primary key.
ALTER TABLE monitor.rollups_1m RENAME TO rollups_1m_unpartitioned;
ALTER INDEX monitor.rollups_1m_pkey RENAME TO rollups_1m_unpartitioned_pkey;

CREATE TABLE monitor.rollups_1m (
  tenant_id  text NOT NULL,
  metric     text NOT NULL,
  series_key text NOT NULL,
  bucket     timestamptz NOT NULL,
  count      bigint NOT NULL,
  sum        double precision NOT NULL,
  min        double precision NOT NULL,
  max        double precision NOT NULL,
  sketch     bytea,
  PRIMARY KEY (tenant_id, metric, series_key, bucket)
) PARTITION BY RANGE (bucket);

DO $$
DECLARE
  day date;
BEGIN
  FOR day IN
    SELECT DISTINCT (bucket AT TIME ZONE 'UTC')::date FROM monitor.rollups_1m_unpartitioned
  LOOP
    EXECUTE format(
        'CREATE TABLE monitor.%I PARTITION OF monitor.rollups_1m FOR VALUES FROM (%L) TO (%L)',
        'rollups_1m_p' || to_char(day, 'YYYYMMDD'), day::timestamp AT TIME ZONE 'UTC',
        (day + 1)::timestamp AT TIME ZONE 'UTC');
  END LOOP;
END
$$;

INSERT INTO monitor.rollups_1m (tenant_id, metric, series_key, bucket, count, sum, min, max, sketch)
SELECT tenant_id, metric, series_key, bucket, count, sum, min, max, sketch
FROM monitor.rollups_1m_unpartitioned;

DROP TABLE monitor.rollups_1m_unpartitioned;
