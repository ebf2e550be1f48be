-- Contest folders (`hoithi contest import DIR`) re-import idempotently: each question they
-- load remembers where it came from ("questions/bank.csv#12"), so a second run finds it and
-- a changed file revises it in place instead of adding a copy.
ALTER TABLE questions ADD COLUMN source text;
CREATE UNIQUE INDEX questions_source_key ON questions (contest_id, source)
    WHERE deleted_at IS NULL AND source IS NOT NULL;

-- A contest loaded from a folder by the CLI has no creating account; admins manage it and
-- `hoithi contest import --owner EMAIL` puts an organiser on its staff.
ALTER TABLE contests ALTER COLUMN created_by DROP NOT NULL;
