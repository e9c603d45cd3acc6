-- Named admin tokens with a role, replacing the single token whose hash was
-- the setting admin_token_sha256: that one becomes the token "default".
-- Only the hex SHA-256 of a token is kept.
CREATE TABLE admin_tokens (
	name          TEXT PRIMARY KEY,
	role          TEXT NOT NULL,
	hash          TEXT NOT NULL,
	created_at_ms INTEGER NOT NULL
);

INSERT INTO admin_tokens (name, role, hash, created_at_ms)
SELECT 'default', 'admin', value, CAST(unixepoch('subsec') * 1000 AS INTEGER)
FROM settings WHERE name = 'admin_token_sha256';
DELETE FROM settings WHERE name = 'admin_token_sha256';
