-- A school's policy for its desktop devices (LE5): how many wrong PINs in a row wipe a device, and after how
-- many idle minutes the app asks for the PIN again. Devices learn it with their status.
ALTER TABLE schools ADD COLUMN max_pin_attempts INTEGER NOT NULL DEFAULT 5 CHECK (max_pin_attempts BETWEEN 3 AND 10);
ALTER TABLE schools ADD COLUMN idle_timeout_minutes INTEGER NOT NULL DEFAULT 10 CHECK (idle_timeout_minutes BETWEEN 1 AND 240);
