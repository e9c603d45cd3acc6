-- Named admin tokens with a role, replacing the single token whose hash was
-- the setting admin_token_sha256: that one becomes the token "default".
-- Only the hex SHA-256 of a token is kept.
CREATE TABLE admin_tokens (
	name       text COLLATE "C" PRIMARY KEY,
	role       text NOT NULL,
	hash       text NOT NULL,
	created_at timestamptz NOT NULL
);

INSERT INTO admin_tokens (name, role, hash, created_at)
SELECT 'default', 'admin', value, date_trunc('milliseconds', now())
FROM settings WHERE name = 'admin_token_sha256';
DELETE FROM settings WHERE name = 'admin_token_sha256';
