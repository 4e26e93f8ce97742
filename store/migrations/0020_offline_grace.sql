-- Offline grace (LE4): a desktop device that has not reached the server for offline_grace_days locks until it is
-- online again; after wipe_after_days it erases its data.
ALTER TABLE schools ADD COLUMN offline_grace_days INTEGER NOT NULL DEFAULT 14 CHECK (offline_grace_days BETWEEN 1 AND 90);
ALTER TABLE schools ADD COLUMN wipe_after_days INTEGER NOT NULL DEFAULT 90 CHECK (wipe_after_days BETWEEN 2 AND 365);
