-- Silences: matchers over alert labels, a time span and an optional weekly
-- recurring window. tenant_id leads the primary key and indexes (Citus).

CREATE TABLE incident.silences (
  tenant_id        text NOT NULL,
  id               text COLLATE "C" NOT NULL,
  -- [{"name": ..., "op": 1..4, "value": ...}]
  matchers         jsonb NOT NULL,
  starts_at        timestamptz NOT NULL,
  ends_at          timestamptz,
  author           text NOT NULL,
  comment          text NOT NULL,
  has_recurrence   boolean NOT NULL DEFAULT false,
  -- Bit d (1 = Monday .. 7 = Sunday) set for each day the window starts on;
  -- 0 means every day.
  recurrence_days  integer NOT NULL DEFAULT 0,
  recurrence_start smallint NOT NULL DEFAULT 0 CHECK (recurrence_start BETWEEN 0 AND 1439),
  recurrence_end   smallint NOT NULL DEFAULT 0 CHECK (recurrence_end BETWEEN 0 AND 1440),
  recurrence_zone  text NOT NULL DEFAULT '',
  expire_time      timestamptz,
  create_time      timestamptz NOT NULL,
  update_time      timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);

-- Listing newest first; intake loads a tenant's silences through the same
-- leading column.
CREATE INDEX silences_tenant_created_idx
  ON incident.silences (tenant_id, create_time DESC, id DESC);
