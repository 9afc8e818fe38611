-- 首批进货: an agent whose tier has a first-order threshold waits in `pending_activation`
-- until its purchases reach it (or HQ waives it, on record): it earns nothing and recruits
-- nobody meanwhile, and holds no certificate.
ALTER TABLE agents DROP CONSTRAINT agents_status_check;
ALTER TABLE agents ADD CONSTRAINT agents_status_check CHECK (status IN ('active', 'suspended', 'exited', 'pending_activation'));
