package ledgertest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// batchRecord returns a BatchMeterUsage record for customer, dimension and
// hour with quantity q and no allocations.
func batchRecord(n int, product, customer, dimension string, hour time.Time, q int64) *meterd.MeteringRecord {
	account := buyer1
	if customer == customer2 {
		account = buyer2
	}
	return &meterd.MeteringRecord{
		ID:                   recordID(n),
		Operation:            meterd.OpBatchMeterUsage,
		ProductCode:          product,
		CustomerIdentifier:   customer,
		CustomerAWSAccountID: account,
		Resource:             customer,
		Dimension:            dimension,
		Hour:                 hour,
		Timestamp:            hour.Add(12*time.Minute + 345*time.Millisecond),
		Quantity:             q,
		CallerAccountID:      seller,
		CallerAccessKeyID:    "test",
		ReceivedAt:           hour.Add(13*time.Minute + 7*time.Millisecond),
	}
}

// alloc returns an allocation of q to tags given as key, value pairs.
func alloc(q int64, kv ...string) meterd.UsageAllocation {
	a := meterd.UsageAllocation{AllocatedUsageQuantity: &q}
	for i := 0; i+1 < len(kv); i += 2 {
		a.Tags = append(a.Tags, meterd.Tag{Key: kv[i], Value: kv[i+1]})
	}
	return a
}

// checkResult fails unless res has the status and (for Committed) the id.
func checkResult(t *testing.T, what string, res meterd.CommitResult, status meterd.CommitStatus, id string) {
	t.Helper()
	if res.Status != status || (status == meterd.Committed && res.ID != id) {
		t.Errorf("%s = {Status: %d, ID: %q}, want {Status: %d, ID: %q}", what, res.Status, res.ID, status, id)
	}
}

// checkRecord compares every stored field of a record but Seq.
func checkRecord(t *testing.T, got, want *meterd.MeteringRecord) {
	t.Helper()
	type plain struct {
		ID, Operation, ProductCode, CustomerIdentifier, CustomerAWSAccountID, LicenseArn, Resource, Dimension string
		Quantity                                                                                              int64
		CallerAccountID, CallerAccessKeyID, ClientToken, RequestHash, Allocations                             string
	}
	flat := func(r *meterd.MeteringRecord) plain {
		return plain{r.ID, r.Operation, r.ProductCode, r.CustomerIdentifier, r.CustomerAWSAccountID, r.LicenseArn, r.Resource, r.Dimension,
			r.Quantity, r.CallerAccountID, r.CallerAccessKeyID, r.ClientToken, r.RequestHash, meterd.CanonicalAllocations(r.Allocations)}
	}
	if g, w := flat(got), flat(want); g != w {
		t.Errorf("stored record = %+v, want %+v", g, w)
	}
	checkTime(t, "record "+want.ID+" Hour", got.Hour, want.Hour)
	checkTime(t, "record "+want.ID+" Timestamp", got.Timestamp, want.Timestamp)
	checkTime(t, "record "+want.ID+" ReceivedAt", got.ReceivedAt, want.ReceivedAt)
}

func testCommit(t *testing.T, open Open) {
	setup := func(t *testing.T) meterd.Ledger {
		l := open(t)
		seedCatalog(t, l)
		return l
	}
	t.Run("Empty", func(t *testing.T) {
		l := setup(t)
		res, err := l.Commit(t.Context(), nil)
		if err != nil || len(res) != 0 {
			t.Errorf("Commit(nil) = %v, %v; want no results, nil", res, err)
		}
	})
	t.Run("New", func(t *testing.T) {
		l := setup(t)
		a := batchRecord(1, product1, customer1, "requests", h0, 10)
		b := batchRecord(2, product1, customer2, "requests", h0, 0)
		res := commit(t, l, a, b)
		checkResult(t, "Commit(a)", res[0], meterd.Committed, a.ID)
		checkResult(t, "Commit(b)", res[1], meterd.Committed, b.ID)
		if got := ids(usage(t, l, meterd.UsageFilter{})); fmt.Sprint(got) != fmt.Sprint([]string{a.ID, b.ID}) {
			t.Errorf("Usage() ids = %v, want %v", got, []string{a.ID, b.ID})
		}
	})
	t.Run("RoundTrip", func(t *testing.T) { testCommitRoundTrip(t, setup(t)) })
	t.Run("IdenticalRetry", func(t *testing.T) {
		l := setup(t)
		a := batchRecord(1, product1, customer1, "requests", h0, 10)
		a.Allocations = []meterd.UsageAllocation{alloc(6, "team", "a", "env", "prod"), alloc(4)}
		commit(t, l, a)
		// A retry carries a new id, a later timestamp in the same hour, and
		// the same allocations in another order.
		retry := batchRecord(2, product1, customer1, "requests", h0, 10)
		retry.Timestamp = h0.Add(59 * time.Minute)
		retry.Allocations = []meterd.UsageAllocation{alloc(4), alloc(6, "env", "prod", "team", "a")}
		res := commit(t, l, retry)
		checkResult(t, "Commit(identical retry)", res[0], meterd.Committed, a.ID)
		got := usage(t, l, meterd.UsageFilter{})
		if len(got) != 1 {
			t.Fatalf("Usage() after a retry = %d records, want 1", len(got))
		}
		checkRecord(t, got[0], a)
	})
	t.Run("Duplicate", func(t *testing.T) {
		l := setup(t)
		a := batchRecord(1, product1, customer1, "requests", h0, 10)
		a.Allocations = []meterd.UsageAllocation{alloc(10, "team", "a")}
		commit(t, l, a)
		otherQuantity := batchRecord(2, product1, customer1, "requests", h0, 11)
		otherQuantity.Allocations = []meterd.UsageAllocation{alloc(11, "team", "a")}
		otherAllocs := batchRecord(3, product1, customer1, "requests", h0, 10)
		otherAllocs.Allocations = []meterd.UsageAllocation{alloc(10, "team", "b")}
		res := commit(t, l, otherQuantity, otherAllocs)
		checkResult(t, "Commit(other quantity)", res[0], meterd.Duplicate, "")
		checkResult(t, "Commit(other allocations)", res[1], meterd.Duplicate, "")
		got := usage(t, l, meterd.UsageFilter{})
		if len(got) != 1 {
			t.Fatalf("Usage() after duplicates = %d records, want 1", len(got))
		}
		checkRecord(t, got[0], a)
	})
	t.Run("KeyParts", func(t *testing.T) {
		// Records differing in one part of the key are all new.
		l := setup(t)
		base := batchRecord(1, product1, customer1, "requests", h0, 1)
		otherProduct := batchRecord(2, product2, customer1, "requests", h0, 2)
		otherResource := batchRecord(3, product1, customer2, "requests", h0, 3)
		otherDimension := batchRecord(4, product1, customer1, "storage_gb", h0, 4)
		otherHour := batchRecord(5, product1, customer1, "requests", h1, 5)
		recs := []*meterd.MeteringRecord{base, otherProduct, otherResource, otherDimension, otherHour}
		res := commit(t, l, recs...)
		for i, r := range recs {
			checkResult(t, fmt.Sprintf("Commit(record %d)", i), res[i], meterd.Committed, r.ID)
		}
	})
	t.Run("SameKeyInOneCall", func(t *testing.T) {
		l := setup(t)
		a := batchRecord(1, product1, customer1, "requests", h0, 10)
		same := batchRecord(2, product1, customer1, "requests", h0, 10)
		other := batchRecord(3, product1, customer1, "requests", h0, 12)
		res := commit(t, l, a, same, other)
		checkResult(t, "Commit(first)", res[0], meterd.Committed, a.ID)
		checkResult(t, "Commit(same usage)", res[1], meterd.Committed, a.ID)
		checkResult(t, "Commit(other quantity)", res[2], meterd.Duplicate, "")
		if got := usage(t, l, meterd.UsageFilter{}); len(got) != 1 || got[0].Quantity != 10 {
			t.Errorf("Usage() = %d records, want 1 with quantity 10", len(got))
		}
	})
	t.Run("ClientToken", func(t *testing.T) { testClientToken(t, setup(t)) })
	t.Run("Concurrent", func(t *testing.T) { testCommitConcurrent(t, setup(t)) })
}

func testCommitRoundTrip(t *testing.T, l meterd.Ledger) {
	batch := batchRecord(1, product1, customer1, "requests", h0, 10)
	batch.LicenseArn = "arn:aws:license-manager::111122223333:license:l-0123456789abcdef"
	batch.Allocations = []meterd.UsageAllocation{alloc(7, "team", "a", "env", "prod"), alloc(3)}
	meter := &meterd.MeteringRecord{
		ID:                   recordID(2),
		Operation:            meterd.OpMeterUsage,
		ProductCode:          product1,
		CustomerIdentifier:   customer2,
		CustomerAWSAccountID: buyer2,
		Resource:             "AKIABUYER",
		Dimension:            "storage_gb",
		Hour:                 h1,
		Timestamp:            h1.Add(59*time.Minute + 59*time.Second + 999*time.Millisecond),
		Quantity:             1 << 40,
		CallerAccountID:      buyer2,
		CallerAccessKeyID:    "AKIABUYER",
		ClientToken:          "3f1c7a4e-9b2d-4c51-8e0f-6a7b8c9d0e1f",
		RequestHash:          "sha256:abcdef",
		ReceivedAt:           h2.Add(1 * time.Millisecond),
	}
	res := commit(t, l, batch, meter)
	checkResult(t, "Commit(batch)", res[0], meterd.Committed, batch.ID)
	checkResult(t, "Commit(meter)", res[1], meterd.Committed, meter.ID)
	later := batchRecord(3, product2, customer1, "requests", h2, 1)
	commit(t, l, later)

	got := usage(t, l, meterd.UsageFilter{})
	if len(got) != 3 {
		t.Fatalf("Usage() = %d records, want 3", len(got))
	}
	for i, want := range []*meterd.MeteringRecord{batch, meter, later} {
		checkRecord(t, got[i], want)
		if got[i].Seq <= 0 || (i > 0 && got[i].Seq <= got[i-1].Seq) {
			t.Errorf("Usage()[%d].Seq = %d after %d, want positive and increasing", i, got[i].Seq, got[i-1].Seq)
		}
	}
	if got[0].Allocations[0].AllocatedUsageQuantity == nil {
		t.Errorf("stored allocation quantity = nil, want set")
	}
}

func testClientToken(t *testing.T, l meterd.Ledger) {
	meter := func(n int, account, token, hash string, hour time.Time, q int64) *meterd.MeteringRecord {
		r := batchRecord(n, product1, customer1, "requests", hour, q)
		r.Operation, r.Resource, r.CallerAccountID, r.CallerAccessKeyID = meterd.OpMeterUsage, "AKIA"+account, account, "AKIA"+account
		r.ClientToken, r.RequestHash = token, hash
		return r
	}
	first := meter(1, buyer1, "tok", "h1", h0, 5)
	checkResult(t, "Commit(first)", commit(t, l, first)[0], meterd.Committed, first.ID)

	// The same token and hash return the original id even for another key.
	retry := meter(2, buyer1, "tok", "h1", h1, 5)
	checkResult(t, "Commit(same token, same hash)", commit(t, l, retry)[0], meterd.Committed, first.ID)

	conflict := meter(3, buyer1, "tok", "h2", h0, 6)
	checkResult(t, "Commit(same token, other hash)", commit(t, l, conflict)[0], meterd.IdempotencyConflict, "")

	// Tokens are scoped per caller account.
	otherAccount := meter(4, buyer2, "tok", "h2", h0, 6)
	checkResult(t, "Commit(token of another account)", commit(t, l, otherAccount)[0], meterd.Committed, otherAccount.ID)

	// Within one call the first record's token is already used by the second.
	a := meter(5, buyer1, "tok-2", "ha", h2, 1)
	b := meter(6, buyer1, "tok-2", "hb", h2.Add(time.Hour), 1)
	c := meter(7, buyer1, "tok-2", "ha", h2.Add(2*time.Hour), 1)
	res := commit(t, l, a, b, c)
	checkResult(t, "Commit(a)", res[0], meterd.Committed, a.ID)
	checkResult(t, "Commit(b: same token in one call, other hash)", res[1], meterd.IdempotencyConflict, "")
	checkResult(t, "Commit(c: same token in one call, same hash)", res[2], meterd.Committed, a.ID)

	// A token is kept only for a Committed record: a record that was a
	// Duplicate stays one when retried with its token.
	dup := meter(8, buyer1, "tok-3", "hd", h0, 99)
	checkResult(t, "Commit(duplicate with a token)", commit(t, l, dup)[0], meterd.Duplicate, "")
	checkResult(t, "Commit(retry of that duplicate)", commit(t, l, dup)[0], meterd.Duplicate, "")

	got := ids(usage(t, l, meterd.UsageFilter{}))
	if want := []string{first.ID, otherAccount.ID, a.ID}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Usage() ids = %v, want %v", got, want)
	}
}

// testCommitConcurrent has many goroutines race for the same keys with
// different quantities: each key must end with one stored record, and every
// caller told Committed must have been given that record's id.
func testCommitConcurrent(t *testing.T, l meterd.Ledger) {
	const goroutines, keys = 32, 50
	results := make([][]meterd.CommitResult, goroutines)
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			recs := make([]*meterd.MeteringRecord, keys)
			for k := range keys {
				recs[k] = batchRecord(1000*(g+1)+k, product1, fmt.Sprintf("cust-%d", k), "requests", h0, int64(g%4+1))
			}
			<-start
			results[g], errs[g] = l.Commit(t.Context(), recs)
		})
	}
	close(start)
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: Commit = %v, want nil", g, err)
		}
		if len(results[g]) != keys {
			t.Fatalf("goroutine %d: Commit returned %d results, want %d", g, len(results[g]), keys)
		}
	}
	stored := map[string]*meterd.MeteringRecord{}
	for _, r := range usage(t, l, meterd.UsageFilter{ProductCode: product1}) {
		if prev, ok := stored[r.Resource]; ok {
			t.Fatalf("key %s stored twice: %s and %s", r.Resource, prev.ID, r.ID)
		}
		stored[r.Resource] = r
	}
	if len(stored) != keys {
		t.Fatalf("stored %d keys, want %d", len(stored), keys)
	}
	for k := range keys {
		s := stored[fmt.Sprintf("cust-%d", k)]
		committed := 0
		for g := range goroutines {
			res, q := results[g][k], int64(g%4+1)
			switch {
			case res.Status == meterd.Committed && (res.ID != s.ID || q != s.Quantity):
				t.Errorf("key %d goroutine %d: Committed id %s quantity %d, stored id %s quantity %d", k, g, res.ID, q, s.ID, s.Quantity)
			case res.Status == meterd.Duplicate && q == s.Quantity:
				t.Errorf("key %d goroutine %d: Duplicate for the stored quantity %d", k, g, q)
			case res.Status != meterd.Committed && res.Status != meterd.Duplicate:
				t.Errorf("key %d goroutine %d: status %d, want Committed or Duplicate", k, g, res.Status)
			}
			if res.Status == meterd.Committed {
				committed++
			}
		}
		if want := goroutines / 4; committed != want {
			t.Errorf("key %d: %d Committed results, want %d (the goroutines with the stored quantity)", k, committed, want)
		}
	}
}
