-- Finalizing a 1,000,000-entry round inserts a million rows into round_results in one
-- statement. Two of its indexes are keyed by random UUIDs that no query ever looks up:
-- maintaining them took 13 of the statement's 32 seconds (EXPLAIN ANALYZE on a seeded
-- round, 2026-11-24: 32.9 s with them, 19.3 s without).
--
-- round_results_attempt_key (UNIQUE attempt_id) is implied by round_results_member_key
-- (UNIQUE round_id, member_id): the only writer takes each row's round, member and attempt
-- from the attempt itself, and an attempt has one round and one member, so an attempt
-- repeated would repeat its (round, member) too. round_results_member_idx (member_id)
-- serves no query: every read is by round (its rank or its members), and the contest
-- standing groups whole rounds.
ALTER TABLE round_results DROP CONSTRAINT round_results_attempt_key;
DROP INDEX round_results_member_idx;
