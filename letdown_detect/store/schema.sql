-- letdown session store, schema version 1 (db.MIGRATIONS adds the later steps).
-- Times: *_utc are ISO 8601 UTC strings; *_s are seconds since the session start.
-- Mood answers are health data: this file is created with mode 0600 and never leaves the machine.

CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,              -- random id (SessionInfo.session_id)
    start_utc      TEXT NOT NULL,
    end_utc        TEXT,                          -- NULL while running or after a crash
    kind           TEXT NOT NULL CHECK (kind IN ('pumping', 'nursing')),
    source         TEXT NOT NULL DEFAULT '',      -- e.g. serial:/dev/ttyACM0, import, nursing
    device         TEXT NOT NULL DEFAULT '',
    recording_path TEXT,                          -- the recording CSV, when there is one
    duration_s     REAL,
    volume_ml      REAL
);

CREATE TABLE events (
    id             INTEGER PRIMARY KEY,
    session_id     TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    label          TEXT NOT NULL,                 -- letdown | felt_letdown
    onset_s        REAL NOT NULL,
    detected_s     REAL,
    end_s          REAL,
    peak_flow_ml_s REAL,
    volume_ml      REAL,
    channel        TEXT NOT NULL DEFAULT '',      -- sensor channel, or where a felt mark came from
    score          REAL,
    UNIQUE (session_id, label, onset_s)
);

CREATE TABLE prompts (
    id              INTEGER PRIMARY KEY,
    session_id      TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    number          INTEGER NOT NULL,             -- 1, 2, ... within the session
    kind            TEXT NOT NULL CHECK (kind IN ('letdown', 'baseline')),
    letdown_onset_s REAL,                         -- the letdown it pairs with; NULL for baseline
    asked_s         REAL NOT NULL,
    expires_s       REAL NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'expired')),
    -- version 3 adds status 'withdrawn' (its rise was taken back; db._PROMPTS_V3 rebuilds it)
    UNIQUE (session_id, number)
);

CREATE TABLE answers (
    id           INTEGER PRIMARY KEY,
    session_id   TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    prompt_id    INTEGER REFERENCES prompts (id) ON DELETE SET NULL,  -- NULL: unprompted
    t_s          REAL NOT NULL,                   -- the moment it is about (live: when given)
    answered_utc TEXT NOT NULL,
    score        INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
    feelings     TEXT NOT NULL DEFAULT '',        -- ';'-separated
    channel      TEXT NOT NULL,                   -- page | terminal | diary | cli | import
    late         INTEGER NOT NULL DEFAULT 0       -- 1: answered after the prompt expired
    -- version 2 adds: edited_utc TEXT (when the parent changed it afterwards, else NULL)
);

CREATE INDEX events_session ON events (session_id);
CREATE INDEX prompts_session ON prompts (session_id);
CREATE INDEX answers_session ON answers (session_id);
