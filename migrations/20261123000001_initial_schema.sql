-- hoithi: the whole domain of contest-rules.md, first version.
--
-- Conventions:
-- * Ids are UUIDs made by the application (v7, time-ordered); gen_random_uuid() is only a
--   fallback for rows written by hand.
-- * Closed vocabularies are TEXT with CHECK constraints (easy to extend in a later migration).
-- * Times are timestamptz (UTC on the wire); durations are integer milliseconds.
-- * The database keeps the data honest by itself: every rule that can be a constraint is one.
-- * A CHECK passes when it evaluates to NULL, so "all of these are set" checks say
--   IS NOT NULL explicitly rather than relying on a comparison with a NULL.

-- ---------------------------------------------------------------------------------------
-- Organisation units: province → district → commune/branch tree (rule 10).
CREATE TABLE units (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code         text NOT NULL,
    name         text NOT NULL,
    parent_id    uuid REFERENCES units (id) ON DELETE RESTRICT,
    member_count integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT units_code_key UNIQUE (code),
    CONSTRAINT units_code_format CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    CONSTRAINT units_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
    CONSTRAINT units_member_count_positive CHECK (member_count >= 0),
    CONSTRAINT units_not_own_parent CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE INDEX units_parent_idx ON units (parent_id);

-- Longer cycles (A → B → A) cannot be a CHECK: refuse them when a parent is set.
CREATE FUNCTION units_refuse_cycles() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_id IS NOT NULL AND EXISTS (
        WITH RECURSIVE up (id, parent_id) AS (
            SELECT id, parent_id FROM units WHERE id = NEW.parent_id
            UNION
            SELECT u.id, u.parent_id FROM units u JOIN up ON u.id = up.parent_id
        )
        SELECT 1 FROM up WHERE id = NEW.id
    ) THEN
        RAISE EXCEPTION 'unit % would be its own ancestor', NEW.code
            USING ERRCODE = 'check_violation', CONSTRAINT = 'units_no_cycles';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER units_no_cycles BEFORE INSERT OR UPDATE OF parent_id ON units
    FOR EACH ROW EXECUTE FUNCTION units_refuse_cycles();

-- ---------------------------------------------------------------------------------------
-- Accounts: members (by phone) and staff (by e-mail or phone) (rule 13).
CREATE TABLE accounts (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    role          text NOT NULL DEFAULT 'member',
    -- E.164, Vietnamese mobile only: +84 then 3/5/7/8/9 and eight digits.
    phone         text,
    email         text,
    full_name     text NOT NULL,
    password_hash text NOT NULL,
    birth_year    smallint,
    id_number     text,
    gender        text,
    address       text,
    unit_id       uuid REFERENCES units (id) ON DELETE RESTRICT,
    disabled_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_role_known CHECK (role IN ('member', 'organizer', 'judge', 'admin')),
    CONSTRAINT accounts_phone_key UNIQUE (phone),
    CONSTRAINT accounts_phone_format CHECK (phone ~ '^\+84[35789][0-9]{8}$'),
    CONSTRAINT accounts_email_format CHECK (email = lower(email) AND email ~ '^[^@\s]+@[^@\s]+$'),
    CONSTRAINT accounts_id_number_key UNIQUE (id_number),
    CONSTRAINT accounts_id_number_format CHECK (id_number ~ '^[0-9]{12}$'),
    CONSTRAINT accounts_full_name_length CHECK (char_length(full_name) BETWEEN 1 AND 100),
    CONSTRAINT accounts_birth_year_plausible CHECK (birth_year BETWEEN 1900 AND 2100),
    CONSTRAINT accounts_gender_known CHECK (gender IN ('female', 'male', 'other')),
    CONSTRAINT accounts_address_length CHECK (char_length(address) <= 300),
    CONSTRAINT accounts_has_login CHECK (phone IS NOT NULL OR email IS NOT NULL),
    CONSTRAINT accounts_member_has_phone CHECK (role <> 'member' OR phone IS NOT NULL)
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (email) WHERE email IS NOT NULL;
CREATE INDEX accounts_unit_idx ON accounts (unit_id);

-- Opaque refresh tokens, stored as SHA-256; rotated on every use. A rotated token presented
-- again revokes its whole family (one login's chain of tokens).
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    family_id   uuid NOT NULL,
    token_hash  bytea NOT NULL,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz,
    revoked_at  timestamptz,
    CONSTRAINT refresh_tokens_hash_key UNIQUE (token_hash),
    CONSTRAINT refresh_tokens_hash_length CHECK (octet_length(token_hash) = 32),
    CONSTRAINT refresh_tokens_expiry_after_issue CHECK (expires_at > issued_at)
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_account_idx ON refresh_tokens (account_id);

-- ---------------------------------------------------------------------------------------
-- Contests and the staff who run them.
CREATE TABLE contests (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug                 text NOT NULL,
    title                text NOT NULL,
    description          text NOT NULL DEFAULT '',
    rules                text NOT NULL DEFAULT '',
    one_prize_per_person boolean NOT NULL DEFAULT false,
    published_at         timestamptz,
    created_by           uuid NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT contests_slug_key UNIQUE (slug),
    CONSTRAINT contests_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 80),
    CONSTRAINT contests_title_length CHECK (char_length(title) BETWEEN 1 AND 300),
    CONSTRAINT contests_description_length CHECK (char_length(description) <= 20000),
    CONSTRAINT contests_rules_length CHECK (char_length(rules) <= 100000)
);

-- Who may work on a contest besides its creator (organisers see only their contests).
CREATE TABLE contest_staff (
    contest_id uuid NOT NULL REFERENCES contests (id) ON DELETE CASCADE,
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role       text NOT NULL,
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (contest_id, account_id),
    CONSTRAINT contest_staff_role_known CHECK (role IN ('organizer', 'judge'))
);
CREATE INDEX contest_staff_account_idx ON contest_staff (account_id);

-- ---------------------------------------------------------------------------------------
-- The question bank. A question is a stable handle; its content lives in immutable
-- revisions, so editing or deleting a question never changes what an existing attempt was
-- shown or graded against (attempts point at revisions).
CREATE TABLE questions (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    contest_id          uuid NOT NULL REFERENCES contests (id) ON DELETE CASCADE,
    current_revision_id uuid NOT NULL,
    position            integer NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- Deleted questions leave the bank (never drawn again) but stay for old attempts.
    deleted_at          timestamptz,
    CONSTRAINT questions_position_positive CHECK (position >= 0)
);
CREATE INDEX questions_bank_idx ON questions (contest_id, position) WHERE deleted_at IS NULL;

CREATE TABLE question_revisions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    question_id uuid NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    revision    integer NOT NULL,
    kind        text NOT NULL,
    text        text NOT NULL,
    category    text,
    difficulty  text,
    explanation text,
    -- Bit i set ⇔ option at position i is correct; the answer key in one number.
    correct_mask smallint NOT NULL,
    option_count smallint NOT NULL,
    created_by  uuid REFERENCES accounts (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT question_revisions_number_key UNIQUE (question_id, revision),
    CONSTRAINT question_revisions_revision_positive CHECK (revision >= 1),
    CONSTRAINT question_revisions_kind_known CHECK (kind IN ('single', 'multiple')),
    CONSTRAINT question_revisions_text_length CHECK (char_length(text) BETWEEN 1 AND 2000),
    CONSTRAINT question_revisions_category_length CHECK (char_length(category) BETWEEN 1 AND 100),
    CONSTRAINT question_revisions_difficulty_known CHECK (difficulty IN ('easy', 'medium', 'hard')),
    CONSTRAINT question_revisions_explanation_length CHECK (char_length(explanation) <= 5000),
    CONSTRAINT question_revisions_option_count CHECK (option_count BETWEEN 2 AND 8),
    -- At least one correct option, none beyond the last option, exactly one for `single`.
    CONSTRAINT question_revisions_mask_in_range CHECK (correct_mask >= 1 AND correct_mask < (1 << option_count)),
    CONSTRAINT question_revisions_single_has_one CHECK (kind <> 'single' OR (correct_mask & (correct_mask - 1)) = 0)
);
CREATE INDEX question_revisions_question_idx ON question_revisions (question_id);

ALTER TABLE questions
    ADD CONSTRAINT questions_current_revision_fk FOREIGN KEY (current_revision_id)
        REFERENCES question_revisions (id) DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE question_options (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    revision_id uuid NOT NULL REFERENCES question_revisions (id) ON DELETE CASCADE,
    position    smallint NOT NULL,
    text        text NOT NULL,
    is_correct  boolean NOT NULL,
    CONSTRAINT question_options_position_key UNIQUE (revision_id, position),
    CONSTRAINT question_options_text_key UNIQUE (revision_id, text),
    CONSTRAINT question_options_position_range CHECK (position BETWEEN 0 AND 7),
    CONSTRAINT question_options_text_length CHECK (char_length(text) BETWEEN 1 AND 1000)
);

-- ---------------------------------------------------------------------------------------
-- Weekly rounds with their draw, timing, prediction, ranking chain and prizes (rules 1–8).
-- State (scheduled/open/closed/finalized) is derived from the clock and finalized_at.
CREATE TABLE rounds (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    contest_id         uuid NOT NULL REFERENCES contests (id) ON DELETE CASCADE,
    number             smallint NOT NULL,
    title              text NOT NULL,
    opens_at           timestamptz NOT NULL,
    closes_at          timestamptz NOT NULL,
    question_count     smallint NOT NULL,
    time_limit_seconds integer NOT NULL,
    max_attempts       smallint NOT NULL DEFAULT 1,
    shuffle_options    boolean NOT NULL DEFAULT false,
    -- {"category name": count}, {"easy": 15, "medium": 25, "hard": 10}
    category_quotas    jsonb NOT NULL DEFAULT '{}',
    difficulty_quotas  jsonb NOT NULL DEFAULT '{}',
    prediction_prompt  text NOT NULL,
    prediction_target  text NOT NULL,
    ranking            text[] NOT NULL DEFAULT ARRAY['correct', 'prediction', 'duration', 'submitted_at'],
    prize_cap_percent  numeric(5, 2),
    -- Set by an organiser closing the round early; closes_at then holds the moment it closed.
    closed_early_at    timestamptz,
    -- Fixed by finalizing (rule 11).
    finalized_at       timestamptz,
    finalized_by       uuid REFERENCES accounts (id) ON DELETE SET NULL,
    actual_value       bigint,
    entries            integer,
    participants       integer,
    perfect_entries    integer,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rounds_number_key UNIQUE (contest_id, number),
    CONSTRAINT rounds_number_positive CHECK (number >= 1),
    CONSTRAINT rounds_title_length CHECK (char_length(title) BETWEEN 1 AND 300),
    CONSTRAINT rounds_window CHECK (closes_at > opens_at),
    CONSTRAINT rounds_question_count_range CHECK (question_count BETWEEN 1 AND 500),
    CONSTRAINT rounds_time_limit_range CHECK (time_limit_seconds BETWEEN 10 AND 10800),
    CONSTRAINT rounds_max_attempts_range CHECK (max_attempts BETWEEN 1 AND 10),
    CONSTRAINT rounds_category_quotas_object CHECK (jsonb_typeof(category_quotas) = 'object'),
    CONSTRAINT rounds_difficulty_quotas_object CHECK (jsonb_typeof(difficulty_quotas) = 'object'),
    CONSTRAINT rounds_prediction_prompt_length CHECK (char_length(prediction_prompt) BETWEEN 1 AND 1000),
    CONSTRAINT rounds_prediction_target_known CHECK (prediction_target IN ('entries', 'participants', 'perfect_entries')),
    -- "More correct" always comes first; the rest is a subset of the known keys.
    CONSTRAINT rounds_ranking_chain CHECK (
        cardinality(ranking) BETWEEN 1 AND 4
        AND ranking[1] = 'correct'
        AND ranking <@ ARRAY['correct', 'prediction', 'duration', 'submitted_at']
    ),
    CONSTRAINT rounds_prize_cap_range CHECK (prize_cap_percent > 0 AND prize_cap_percent <= 100),
    CONSTRAINT rounds_finalized_complete CHECK (
        (finalized_at IS NULL AND actual_value IS NULL AND entries IS NULL AND participants IS NULL AND perfect_entries IS NULL)
        OR (finalized_at IS NOT NULL
            AND actual_value IS NOT NULL AND actual_value >= 0
            AND entries IS NOT NULL AND entries >= 0
            AND participants IS NOT NULL AND participants >= 0
            AND perfect_entries IS NOT NULL AND perfect_entries >= 0)
    )
);
CREATE INDEX rounds_open_idx ON rounds (opens_at, closes_at);

-- The prize ladder, top prize first: 1 × Giải Nhất, 2 × Giải Nhì, …
CREATE TABLE round_prizes (
    round_id uuid NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    position smallint NOT NULL,
    name     text NOT NULL,
    count    integer NOT NULL,
    PRIMARY KEY (round_id, position),
    CONSTRAINT round_prizes_position_positive CHECK (position >= 1),
    CONSTRAINT round_prizes_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
    CONSTRAINT round_prizes_count_range CHECK (count BETWEEN 1 AND 100000)
);

-- ---------------------------------------------------------------------------------------
-- Attempts (entries): one timed try at a round by one member, with its drawn paper stored
-- so a reload shows the same paper, and its answers and result (rules 2–6).
--
-- The paper is three parallel arrays, one element per question in the order shown:
--   paper_revisions[i]   the question revision shown;
--   paper_option_order[i] the order its options are shown in, packed 3 bits per place
--                         (place k holds the original position at bits 3k..3k+2);
--   answers[i]           the chosen options as a bit mask of original positions
--                         (0 = unanswered); autosave overwrites it until submission.
-- One row per attempt keeps a start to one INSERT and a million attempts compact.
CREATE TABLE attempts (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    round_id           uuid NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    member_id          uuid NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
    -- 1, 2, … per member and round; the unique key below makes max_attempts race-free.
    number             smallint NOT NULL,
    state              text NOT NULL DEFAULT 'in_progress',
    started_at         timestamptz NOT NULL DEFAULT now(),
    deadline           timestamptz NOT NULL,
    paper_revisions    uuid[] NOT NULL,
    paper_option_order integer[] NOT NULL,
    answers            smallint[] NOT NULL,
    answers_saved_at   timestamptz,
    prediction         bigint,
    -- Set when the attempt ends, by submission or at its deadline.
    submitted_at       timestamptz,
    duration_ms        integer,
    correct            smallint,
    total              smallint,
    CONSTRAINT attempts_number_key UNIQUE (round_id, member_id, number),
    CONSTRAINT attempts_number_range CHECK (number BETWEEN 1 AND 10),
    CONSTRAINT attempts_state_known CHECK (state IN ('in_progress', 'submitted', 'expired')),
    CONSTRAINT attempts_deadline_after_start CHECK (deadline > started_at),
    CONSTRAINT attempts_paper_not_empty CHECK (cardinality(paper_revisions) BETWEEN 1 AND 500),
    CONSTRAINT attempts_paper_aligned CHECK (
        cardinality(paper_option_order) = cardinality(paper_revisions)
        AND cardinality(answers) = cardinality(paper_revisions)
    ),
    CONSTRAINT attempts_prediction_non_negative CHECK (prediction >= 0),
    -- An ended attempt has its whole result; one in progress has none.
    CONSTRAINT attempts_result_complete CHECK (
        (state = 'in_progress' AND submitted_at IS NULL AND duration_ms IS NULL AND correct IS NULL AND total IS NULL)
        OR (state <> 'in_progress' AND submitted_at IS NOT NULL
            AND duration_ms IS NOT NULL AND duration_ms >= 0
            AND total IS NOT NULL AND total = cardinality(paper_revisions)
            AND correct IS NOT NULL AND correct BETWEEN 0 AND total)
    )
);
-- At most one attempt in progress per member per round (rule 5), whatever the concurrency.
CREATE UNIQUE INDEX attempts_one_in_progress ON attempts (round_id, member_id) WHERE state = 'in_progress';
-- The sweeper closes attempts whose deadline passed.
CREATE INDEX attempts_due_idx ON attempts (deadline) WHERE state = 'in_progress';
-- A member's history, newest first.
CREATE INDEX attempts_member_idx ON attempts (member_id, started_at DESC);
-- Finalizing and statistics read a round's ended attempts.
CREATE INDEX attempts_round_ended_idx ON attempts (round_id, correct DESC, duration_ms) WHERE state <> 'in_progress';

-- ---------------------------------------------------------------------------------------
-- The final ranking, fixed by finalizing: one row per member, their counted attempt.
CREATE TABLE round_results (
    round_id         uuid NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    rank             integer NOT NULL,
    member_id        uuid NOT NULL REFERENCES accounts (id),
    -- NO ACTION (checked at the end of the statement), so deleting a round can cascade
    -- through both its attempts and its results.
    attempt_id       uuid NOT NULL REFERENCES attempts (id),
    correct          smallint NOT NULL,
    total            smallint NOT NULL,
    prediction       bigint,
    prediction_error bigint,
    duration_ms      integer NOT NULL,
    submitted_at     timestamptz NOT NULL,
    PRIMARY KEY (round_id, rank),
    CONSTRAINT round_results_member_key UNIQUE (round_id, member_id),
    CONSTRAINT round_results_attempt_key UNIQUE (attempt_id),
    CONSTRAINT round_results_rank_positive CHECK (rank >= 1),
    CONSTRAINT round_results_prediction_error CHECK (
        (prediction IS NULL AND prediction_error IS NULL)
        OR (prediction IS NOT NULL AND prediction_error IS NOT NULL AND prediction_error >= 0)
    )
);
CREATE INDEX round_results_member_idx ON round_results (member_id);

-- Prizes as awarded. A disqualified winner's row stays (with who, when and why) and the
-- prize passes to a new row; the current winners are the rows not disqualified.
CREATE TABLE round_winners (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    round_id          uuid NOT NULL,
    member_id         uuid NOT NULL,
    prize_position    smallint NOT NULL,
    prize_name        text NOT NULL,
    awarded_at        timestamptz NOT NULL DEFAULT now(),
    disqualified_at   timestamptz,
    disqualified_by   uuid REFERENCES accounts (id) ON DELETE SET NULL,
    disqualify_reason text,
    FOREIGN KEY (round_id, member_id) REFERENCES round_results (round_id, member_id) ON DELETE CASCADE,
    FOREIGN KEY (round_id, prize_position) REFERENCES round_prizes (round_id, position),
    -- A member wins at most once in a round, and once disqualified cannot win it again.
    CONSTRAINT round_winners_member_key UNIQUE (round_id, member_id),
    CONSTRAINT round_winners_disqualification_complete CHECK (
        (disqualified_at IS NULL AND disqualify_reason IS NULL)
        OR (disqualified_at IS NOT NULL AND disqualify_reason IS NOT NULL
            AND char_length(disqualify_reason) BETWEEN 1 AND 1000)
    )
);
CREATE INDEX round_winners_member_idx ON round_winners (member_id) WHERE disqualified_at IS NULL;

-- ---------------------------------------------------------------------------------------
-- The audit log: who did what, when (finalize, disqualify, exports of personal data,
-- role changes). Append-only: the database refuses to change or delete a line.
CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    -- Plain references: an audited account, contest or round cannot be deleted, because
    -- SET NULL would rewrite a line of an append-only log.
    actor_id   uuid REFERENCES accounts (id),
    -- How the actor acted when there is no account: 'cli', 'system'.
    actor_kind text NOT NULL DEFAULT 'account',
    action     text NOT NULL,
    contest_id uuid REFERENCES contests (id),
    round_id   uuid REFERENCES rounds (id),
    object_id  text,
    row_count  integer,
    details    jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT audit_log_actor_kind_known CHECK (actor_kind IN ('account', 'cli', 'system')),
    CONSTRAINT audit_log_action_format CHECK (action ~ '^[a-z_]+(\.[a-z_]+)*$'),
    CONSTRAINT audit_log_row_count_non_negative CHECK (row_count >= 0)
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
