-- Servers cache each contest's bank in memory to draw papers without a query. Any change to
-- the bank bumps its contest's bank_version, which a server checks at most once a second to
-- know its copy is stale — correct with any number of servers.
ALTER TABLE contests ADD COLUMN bank_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION bump_bank_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE contests SET bank_version = bank_version + 1
    WHERE id IN (SELECT DISTINCT contest_id FROM changed);
    RETURN NULL;
END
$$;

-- A transition table serves one event per trigger, hence two.
CREATE TRIGGER questions_bank_inserted AFTER INSERT ON questions
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION bump_bank_version();
CREATE TRIGGER questions_bank_updated AFTER UPDATE ON questions
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION bump_bank_version();
