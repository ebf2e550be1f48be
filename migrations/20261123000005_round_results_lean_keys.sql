-- Finalizing writes the whole final ranking in one INSERT … SELECT FROM attempts. With a
-- 1,000,000-entry round, the row-by-row checks of the foreign keys to attempts and
-- accounts took 29 of its 45 seconds: each check reads and KEY SHARE-locks the attempt or
-- account row, dirtying a million attempt rows for nothing (scripts/bench-judging.sh).
--
-- Both keys are redundant. round_results is only ever written by that INSERT, which reads
-- each row's attempt_id and member_id from the attempt itself, in the same transaction,
-- under the round's row lock. Attempts are only deleted with their round, which cascades
-- to its results too (round_results_round_id_fkey stays). Accounts with attempts cannot
-- be deleted (attempts_member_id_fkey is ON DELETE RESTRICT). The unique keys stay: one
-- row per member and per attempt.
ALTER TABLE round_results DROP CONSTRAINT round_results_member_id_fkey;
ALTER TABLE round_results DROP CONSTRAINT round_results_attempt_id_fkey;
