-- Conflicts (SD5): for fields the domain marks (attendance status; grades later), a replica's outbox keeps the
-- clock stamp each local change was based on, so the server can tell a concurrent edit from a later one and keep
-- the losing value visible as a conflict.
ALTER TABLE outbox ADD COLUMN bases TEXT NOT NULL DEFAULT '{}';
