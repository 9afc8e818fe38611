DROP TABLE certificates;
DROP TABLE applications;
DROP TABLE invite_codes;
ALTER TABLE brands DROP COLUMN application_approval, DROP COLUMN application_days;
