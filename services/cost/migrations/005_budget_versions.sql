-- A version per tenant of its budget definitions, so that a RecordUsage group
-- reads a tenant's budgets only when they changed since it last read them
-- (PgCostStore keeps the definitions per process, keyed by this version).
--
-- A trigger bumps the version on every insert, update, delete or truncate of
-- cost.budgets, inside the transaction making the change, whoever makes it:
-- a reader that sees a version also sees the definitions as of that version.

CREATE TABLE cost.budget_versions (
  tenant_id  text    NOT NULL,
  version    bigint  NOT NULL,
  PRIMARY KEY (tenant_id)
);

INSERT INTO cost.budget_versions (tenant_id, version)
SELECT tenant_id, 1 FROM cost.budgets GROUP BY tenant_id;

CREATE FUNCTION cost.bump_budget_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    UPDATE cost.budget_versions SET version = version + 1;
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO cost.budget_versions AS v (tenant_id, version) VALUES (OLD.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
  END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.tenant_id IS DISTINCT FROM OLD.tenant_id) THEN
    INSERT INTO cost.budget_versions AS v (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER budgets_bump_version
  AFTER INSERT OR UPDATE OR DELETE ON cost.budgets
  FOR EACH ROW EXECUTE FUNCTION cost.bump_budget_version();

CREATE TRIGGER budgets_bump_version_on_truncate
  AFTER TRUNCATE ON cost.budgets
  FOR EACH STATEMENT EXECUTE FUNCTION cost.bump_budget_version();
