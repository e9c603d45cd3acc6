package sigv4

import "sync"

// maxSigningKeys bounds the signing-key cache; when full it starts again
// empty, which only costs the next requests a derivation each.
const maxSigningKeys = 1024

// signingScope is what a SigV4 signing key is derived from. The secret is
// part of it, so a rotated secret derives (and caches) a new key, and a
// wrong secret never matches a cached one.
type signingScope struct {
	secret, date, region, service string
}

// signingKeys caches derived signing keys, as the AWS SDKs do: the four
// HMACs of the derivation change only with the date, region, service and
// secret, not with each request. The zero value is ready to use.
type signingKeys struct {
	mu   sync.Mutex
	keys map[signingScope][]byte
}

// get returns the signing key of s, deriving it on a miss. The returned
// slice is shared: callers must not change it.
func (c *signingKeys) get(s signingScope) []byte {
	c.mu.Lock()
	k, ok := c.keys[s]
	c.mu.Unlock()
	if ok {
		return k
	}
	k = deriveSigningKey(s)
	c.mu.Lock()
	if c.keys == nil || len(c.keys) >= maxSigningKeys {
		c.keys = make(map[signingScope][]byte)
	}
	c.keys[s] = k
	c.mu.Unlock()
	return k
}

// deriveSigningKey is the SigV4 key derivation.
func deriveSigningKey(s signingScope) []byte {
	key := hmacSHA256([]byte("AWS4"+s.secret), s.date)
	key = hmacSHA256(key, s.region)
	key = hmacSHA256(key, s.service)
	return hmacSHA256(key, terminator)
}
