-- A replica keeps only what its own user may see (store/prune.go): it forgets a course the user lost and the
-- pupils no longer in any of the user's courses. user_id is that user, the first account adopted into the
-- school (a desktop adopts only its teacher; an admin's device adopts the teachers it assigns courses to after
-- its admin); '' until one is.
ALTER TABLE replica ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
