package sqlite

import (
	"slices"
	"sync"

	"github.com/meterd/meterd"
)

// maxCached bounds each map of the catalog cache; a map that reaches it is
// emptied and fills again with what requests use.
const maxCached = 1 << 16

// catalogCache keeps the access keys, products and customers that the
// Metering API reads on every request. Reading them from SQLite cost more
// CPU than the rest of a MeterUsage request: each commit of the writer makes
// the read connections drop their page cache, so every lookup re-read its
// pages with system calls.
//
// Every write of the catalog goes through this Store, which empties the cache
// after the write (invalidate), so a read that starts after a write has
// returned sees it. A lookup that raced with a write is not kept: put only
// stores a value read under the generation that is still current. This
// holds because one process at a time opens a SQLite ledger (meterd serve,
// or the loader with the server stopped).
//
// The cache hands out copies, so that a caller changing what it got cannot
// change what the next caller gets.
type catalogCache struct {
	mu         sync.Mutex
	gen        uint64
	keys       map[string]meterd.AccessKey
	products   map[string]*meterd.Product // never handed out; see cloneProduct
	byID       map[[2]string]meterd.Customer
	byAccount  map[[2]string]meterd.Customer
	hits, miss uint64 // for tests
}

// generation returns the current generation, to pass to the put methods
// after a read from the database.
func (c *catalogCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// invalidate forgets everything; called after every catalog write.
func (c *catalogCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.keys, c.products, c.byID, c.byAccount = nil, nil, nil, nil
}

func (c *catalogCache) accessKey(id string) (*meterd.AccessKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.keys[id]
	c.count(ok)
	return &k, ok
}

func (c *catalogCache) putAccessKey(gen uint64, k *meterd.AccessKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	c.keys = room(c.keys)
	c.keys[k.ID] = *k
}

func (c *catalogCache) product(code string) (*meterd.Product, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.products[code]
	c.count(ok)
	if !ok {
		return nil, false
	}
	return cloneProduct(p), true
}

func (c *catalogCache) putProduct(gen uint64, p *meterd.Product) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	c.products = room(c.products)
	c.products[p.Code] = cloneProduct(p)
}

// customer returns a product's customer by identifier (byAccount false) or
// by AWS account id.
func (c *catalogCache) customer(productCode, key string, byAccount bool) (*meterd.Customer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.byID
	if byAccount {
		m = c.byAccount
	}
	cust, ok := m[[2]string{productCode, key}]
	c.count(ok)
	return &cust, ok
}

func (c *catalogCache) putCustomers(gen uint64, custs ...*meterd.Customer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	c.byID, c.byAccount = room(c.byID), room(c.byAccount)
	for _, cust := range custs {
		c.byID[[2]string{cust.ProductCode, cust.CustomerIdentifier}] = *cust
		if cust.CustomerAWSAccountID != "" {
			c.byAccount[[2]string{cust.ProductCode, cust.CustomerAWSAccountID}] = *cust
		}
	}
}

func (c *catalogCache) count(hit bool) {
	if hit {
		c.hits++
	} else {
		c.miss++
	}
}

// room returns m, or a new map when m is nil or full.
func room[K comparable, V any](m map[K]V) map[K]V {
	if m == nil || len(m) >= maxCached {
		return make(map[K]V)
	}
	return m
}

// cloneProduct copies p with its slices.
func cloneProduct(p *meterd.Product) *meterd.Product {
	q := *p
	q.Regions = slices.Clone(p.Regions)
	q.Dimensions = slices.Clone(p.Dimensions)
	return &q
}
