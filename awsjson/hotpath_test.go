package awsjson

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/metering"
)

// memLedger is the part of a Ledger BatchMeterUsage reads, in memory, with a
// Commit that stores nothing: the benchmark measures everything but the
// store.
type memLedger struct {
	meterd.Ledger
	product   *meterd.Product
	customers map[string]*meterd.Customer
}

func (l *memLedger) Product(_ context.Context, code string) (*meterd.Product, error) {
	if code != l.product.Code {
		return nil, meterd.Errorf(meterd.ENotFound, "no product")
	}
	return l.product, nil
}

func (l *memLedger) Customer(_ context.Context, _, id string) (*meterd.Customer, error) {
	if c, ok := l.customers[id]; ok {
		return c, nil
	}
	return nil, meterd.Errorf(meterd.ENotFound, "no customer")
}

func (l *memLedger) CustomersByKeys(_ context.Context, _ string, ids, _ []string) ([]*meterd.Customer, error) {
	var out []*meterd.Customer
	for _, id := range ids {
		if c, ok := l.customers[id]; ok {
			out = append(out, c)
		}
	}
	return out, nil
}

func (l *memLedger) Commit(_ context.Context, recs []*meterd.MeteringRecord) ([]meterd.CommitResult, error) {
	res := make([]meterd.CommitResult, len(recs))
	for i, r := range recs {
		res[i] = meterd.CommitResult{Status: meterd.Committed, ID: r.ID}
	}
	return res, nil
}

// BenchmarkHotPathBatchMeterUsage measures one 25-record BatchMeterUsage
// request through the protocol and the operation's rules (decode, validate,
// build the ledger records, encode), with the store left out.
func BenchmarkHotPathBatchMeterUsage(b *testing.B) {
	now := time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC)
	l := &memLedger{
		product: &meterd.Product{Code: "demo-product", SellerAccountID: testCaller.AccountID, Type: meterd.ProductSaaS,
			Dimensions: []meterd.Dimension{{Name: "requests"}, {Name: "storage_gb"}}},
		customers: map[string]*meterd.Customer{},
	}
	var recs []string
	for i := range 25 {
		id := fmt.Sprintf("cust-%d", i)
		l.customers[id] = &meterd.Customer{ProductCode: "demo-product", CustomerIdentifier: id, Status: meterd.StatusSubscribed}
		ts := float64(now.Add(-time.Duration(i%5)*time.Hour).UnixMilli()) / 1000
		recs = append(recs, fmt.Sprintf(`{"CustomerIdentifier":%q,"Dimension":"requests","Quantity":%d,"Timestamp":%.3f}`, id, i, ts))
	}
	body := `{"ProductCode":"demo-product","UsageRecords":[` + strings.Join(recs, ",") + `]}`
	clock := &meterd.ServerClock{}
	clock.Set(now)
	h, _ := newTestHandler(&metering.Service{Ledger: l, Clock: clock, PastWindow: 6 * time.Hour, FutureSkew: 5 * time.Minute})
	if w := serve(h, newRequest(meterd.OpBatchMeterUsage, body)); w.Code != 200 || strings.Count(w.Body.String(), `"Success"`) != 25 {
		b.Fatalf("status = %d, body %s; want 25 Success", w.Code, w.Body)
	}
	b.ReportAllocs()
	for b.Loop() {
		serve(h, newRequest(meterd.OpBatchMeterUsage, body))
	}
}
