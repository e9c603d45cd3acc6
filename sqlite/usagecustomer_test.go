package sqlite_test

import (
	"slices"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/sqlite"
)

// TestUsageCustomerInChunks checks a customer's Usage, which visits the
// customer's hours a chunk at a time in first_seq order and stops at the
// page's end, against the records read without the customer (another
// path, by seq) and kept where they are the customer's: hundreds of hours,
// more than a chunk, every seventh hour's record committed late (after the
// later hours', so the hours' seq ranges overlap across chunks), another
// customer's records between, and records after the watermark. Read whole
// and in pages of 17 through the cursor, the customer's records must be
// the same, in the same order.
func TestUsageCustomerInChunks(t *testing.T) {
	ctx := t.Context()
	s, err := sqlite.Open(ctx, t.TempDir()+"/meterd.db")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.StopRoller()
	const hours = 300
	n := 0
	rec := func(customer string, h int) *meterd.MeteringRecord {
		n++
		r := record(n, customer, int64(h+1))
		r.Hour = r.Hour.Add(time.Duration(h) * time.Hour)
		r.Timestamp, r.ReceivedAt = r.Hour.Add(time.Minute), r.Hour.Add(time.Minute)
		return r
	}
	var batch, late []*meterd.MeteringRecord
	for h := range hours {
		if h%7 == 3 {
			late = append(late, rec("cust-a", h))
		} else {
			batch = append(batch, rec("cust-a", h))
		}
		batch = append(batch, rec("cust-b", h))
	}
	for _, recs := range [][]*meterd.MeteringRecord{batch, late} {
		if _, err := s.Commit(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.RollUp(ctx, 10_000); got != 2*hours || err != nil {
		t.Fatalf("RollUp = %d, %v; want %d, nil", got, err, 2*hours)
	}
	// Not rolled up: after the watermark, one of them in an early hour.
	early := rec("cust-a", 5)
	early.Dimension = "storage"
	if _, err := s.Commit(ctx, []*meterd.MeteringRecord{rec("cust-a", hours), rec("cust-b", hours), early}); err != nil {
		t.Fatal(err)
	}

	var want []string
	if err := s.Usage(ctx, meterd.UsageFilter{}, func(r *meterd.MeteringRecord) error {
		if r.CustomerIdentifier == "cust-a" {
			want = append(want, r.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(want) != hours+2 {
		t.Fatalf("Usage without a customer holds %d of cust-a's records, want %d", len(want), hours+2)
	}
	var whole []string
	if err := s.Usage(ctx, meterd.UsageFilter{CustomerIdentifier: "cust-a"}, func(r *meterd.MeteringRecord) error {
		whole = append(whole, r.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(whole, want) {
		t.Errorf("Usage(cust-a) =\n%v\nwant (the records without a customer, cust-a's)\n%v", whole, want)
	}
	var paged []string
	for after, page := int64(0), 0; ; page++ {
		var got []*meterd.MeteringRecord
		f := meterd.UsageFilter{CustomerIdentifier: "cust-a", ProductCode: "demo-product", AfterSeq: after, Limit: 17}
		if err := s.Usage(ctx, f, func(r *meterd.MeteringRecord) error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			paged = append(paged, r.ID)
		}
		if len(got) < 17 || page > hours {
			break
		}
		after = got[len(got)-1].Seq
	}
	if !slices.Equal(paged, want) {
		t.Errorf("Usage(cust-a) in pages of 17 =\n%v\nwant\n%v", paged, want)
	}
}
