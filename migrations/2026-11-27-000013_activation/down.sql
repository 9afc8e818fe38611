UPDATE agents SET status = 'active' WHERE status = 'pending_activation';
ALTER TABLE agents DROP CONSTRAINT agents_status_check;
ALTER TABLE agents ADD CONSTRAINT agents_status_check CHECK (status IN ('active', 'suspended', 'exited'));
