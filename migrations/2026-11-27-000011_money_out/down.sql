ALTER TABLE statement_reviews DROP COLUMN adjustment_id;
DROP FUNCTION audit_append;
DROP FUNCTION audit_row_hash;
DROP TABLE audit_log;
DROP TABLE adjustments;
ALTER TABLE statements DROP COLUMN payable;
ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_kind_check;
ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_kind_check CHECK (kind IN ('purchase', 'refund', 'adjustment', 'withdrawal', 'rebate', 'buyback', 'retail', 'ftc_hold'));
ALTER TABLE postings DROP CONSTRAINT postings_split_kind_check;
ALTER TABLE postings ADD CONSTRAINT postings_split_kind_check CHECK (split_kind IN ('proceeds', 'differential', 'peer_bonus', 'referral_bonus', 'team_rebate', 'withdrawal', 'buyback', 'ftc_hold'));
ALTER TABLE postings DROP CONSTRAINT postings_account_check;
ALTER TABLE postings ADD CONSTRAINT postings_account_check CHECK (account IN ('wallet', 'clearing', 'revenue', 'bonus_expense', 'payouts', 'buyback'));
DROP INDEX withdrawals_batch_rows;
UPDATE withdrawals SET status = 'approved' WHERE status = 'paid';
ALTER TABLE withdrawals DROP CONSTRAINT withdrawals_status_check, DROP CONSTRAINT withdrawals_net_positive, DROP CONSTRAINT withdrawals_paid_reference,
    DROP CONSTRAINT withdrawals_failed_reason, DROP CONSTRAINT withdrawals_batch;
ALTER TABLE withdrawals DROP COLUMN fee, DROP COLUMN tax, DROP COLUMN payee_method, DROP COLUMN payee_name, DROP COLUMN payee_account, DROP COLUMN payee_bank,
    DROP COLUMN requested_by, DROP COLUMN batch_no, DROP COLUMN exported_at, DROP COLUMN paid_at, DROP COLUMN paid_by, DROP COLUMN reference,
    DROP COLUMN failed_at, DROP COLUMN failed_by, DROP COLUMN failure;
ALTER TABLE withdrawals ADD CONSTRAINT withdrawals_status_check CHECK (status IN ('requested', 'approved', 'rejected'));
DROP TABLE payout_batches;
DROP TABLE payees;
ALTER TABLE brands DROP CONSTRAINT withdrawal_range, DROP COLUMN withdrawal_min, DROP COLUMN withdrawal_max, DROP COLUMN withdrawal_fee_rate,
    DROP COLUMN withdrawal_fee_min, DROP COLUMN withholding_tax_rate;
ALTER TABLE login_failures DROP CONSTRAINT login_failures_pkey;
DELETE FROM login_failures WHERE source <> '';
ALTER TABLE login_failures DROP COLUMN source;
ALTER TABLE login_failures ADD PRIMARY KEY (brand_id, login);
ALTER TABLE hq_users DROP COLUMN role, DROP COLUMN name, DROP COLUMN active;
