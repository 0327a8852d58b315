-- Servers that run Microsoft's own EM service never poll: `Get-ExchangeServer` reports them
-- (`ocs hosts import --exchange`, `POST /api/v1/inventory`). Their hosts are marked as such, so
-- that a poll never changes one, and a token may be made that only reports them.
ALTER TABLE hosts ADD COLUMN source TEXT COLLATE "C" NOT NULL DEFAULT 'poll' CHECK (source IN ('poll', 'inventory'));
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check CHECK (role IN ('reporter', 'reader', 'publisher', 'admin'));
