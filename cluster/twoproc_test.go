package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/meterdtest"
)

// TestTwoProcesses runs two meterd processes, started at the same moment, on
// one PostgreSQL database, and checks the rules that must hold across them.
func TestTwoProcesses(t *testing.T) {
	bin := meterdtest.Build(t)
	url := cluster.NewDatabase(t)
	servers := serveTogether(t, bin, 2, "--store", url, "--admin-token", adminToken)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	t.Run("BatchMeterUsageRace", func(t *testing.T) { testBatchRace(ctx, t, servers) })
	t.Run("MeterUsage", func(t *testing.T) { testMeterUsage(ctx, t, servers) })
	t.Run("RegistrationToken", func(t *testing.T) {
		for i, from := range servers {
			to := servers[1-i]
			tok, err := admin.NewClient(from.URL, adminToken).CreateToken(ctx, product, "demo-customer-2", 0)
			if err != nil {
				t.Fatalf("CreateToken on process %d = %v", i+1, err)
			}
			seller := newClient(to.URL, sellerKey, sellerSecret, clientOptions{})
			out, err := seller.ResolveCustomer(ctx, &mm.ResolveCustomerInput{RegistrationToken: aws.String(tok.Token)})
			if err != nil {
				t.Fatalf("ResolveCustomer on process %d of a token from process %d = %v", 2-i, i+1, err)
			}
			if got := aws.ToString(out.CustomerIdentifier); got != "demo-customer-2" || aws.ToString(out.ProductCode) != product {
				t.Errorf("ResolveCustomer = %s/%s, want %s/demo-customer-2", aws.ToString(out.ProductCode), got, product)
			}
			if got := aws.ToString(out.CustomerAWSAccountId); got != "777788889999" {
				t.Errorf("ResolveCustomer CustomerAWSAccountId = %q, want 777788889999", got)
			}
		}
	})
	// Last: it revokes the token the other subtests use.
	t.Run("AdminTokenRotation", func(t *testing.T) { testAdminTokenRotation(ctx, t, servers) })
}

// testAdminTokenRotation rotates the admin token without downtime: a token
// created on one process is accepted by the other at once, a read-only one
// is refused writes on both, and once the new token has revoked the old
// one, both processes refuse the old one on their next request.
func testAdminTokenRotation(ctx context.Context, t *testing.T, servers []*meterdtest.Server) {
	old := []*admin.Client{admin.NewClient(servers[0].URL, adminToken), admin.NewClient(servers[1].URL, adminToken)}
	created, err := old[0].CreateAdminToken(ctx, admin.AdminTokenInput{Name: "rotated", Role: meterd.RoleAdmin})
	if err != nil {
		t.Fatalf("CreateAdminToken on process 1 = %v", err)
	}
	ro, err := old[1].CreateAdminToken(ctx, admin.AdminTokenInput{Name: "viewer", Role: meterd.RoleReadOnly})
	if err != nil {
		t.Fatalf("CreateAdminToken(read-only) on process 2 = %v", err)
	}
	rotated := []*admin.Client{admin.NewClient(servers[0].URL, created.Token), admin.NewClient(servers[1].URL, created.Token)}
	if _, err := rotated[1].Accounts(ctx); err != nil {
		t.Fatalf("Accounts on process 2 with the token created on process 1 = %v, want nil", err)
	}
	viewer := admin.NewClient(servers[0].URL, ro.Token)
	if _, err := viewer.Products(ctx); err != nil {
		t.Errorf("Products on process 1 with the read-only token from process 2 = %v, want nil", err)
	}
	var e *admin.Error
	if _, err := viewer.CreateAccount(ctx, admin.AccountInput{ID: "210987654321"}); !errors.As(err, &e) || e.Status != 403 {
		t.Errorf("CreateAccount with the read-only token = %v, want 403", err)
	}
	if err := rotated[1].RevokeAdminToken(ctx, meterd.DefaultAdminToken); err != nil {
		t.Fatalf("RevokeAdminToken(default) on process 2 = %v", err)
	}
	for i := range servers {
		if _, err := old[i].Accounts(ctx); !errors.As(err, &e) || e.Status != 401 {
			t.Errorf("Accounts on process %d with the revoked token = %v, want 401", i+1, err)
		}
		if _, err := rotated[i].Accounts(ctx); err != nil {
			t.Errorf("Accounts on process %d with the new token = %v, want nil", i+1, err)
		}
	}
}

// answer is one record's result from one process.
type answer struct {
	server   int
	quantity int32
	status   types.UsageRecordResultStatus
	id       string
}

// testBatchRace has 16 goroutines, half on each process, send at once every
// key of five past hours, each goroutine with its own quantity and order, in
// requests of five records: each key must have exactly one Success, every
// other answer DuplicateRecord, and the ledger exactly the winners.
func testBatchRace(ctx context.Context, t *testing.T, servers []*meterdtest.Server) {
	const senders = 16
	base := time.Now().UTC().Truncate(time.Hour)
	var records []types.UsageRecord
	for h := 1; h <= 5; h++ {
		for _, c := range []string{"demo-customer-1", "demo-customer-2"} {
			for _, d := range []string{"requests", "storage_gb"} {
				records = append(records, usageRecord(c, d, base.Add(-time.Duration(h)*time.Hour+10*time.Minute), 0))
			}
		}
	}
	clients := []*mm.Client{
		newClient(servers[0].URL, sellerKey, sellerSecret, clientOptions{}),
		newClient(servers[1].URL, sellerKey, sellerSecret, clientOptions{}),
	}
	answers := make(map[string][]answer)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range senders {
		mine := make([]types.UsageRecord, len(records))
		copy(mine, records)
		for i := range mine {
			mine[i].Quantity = aws.Int32(int32(g + 1))
		}
		rand.New(rand.NewPCG(uint64(g), 1)).Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
		wg.Go(func() {
			<-start
			// Requests of five records, so that the winners of one
			// sender's keys come from several commits on both processes.
			for part := range slices.Chunk(mine, 5) {
				out, err := clients[g%2].BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{
					ProductCode: aws.String(product), UsageRecords: part})
				if err != nil {
					t.Errorf("sender %d: BatchMeterUsage = %v", g, err)
					return
				}
				mu.Lock()
				for _, r := range out.Results {
					answers[recordKey(*r.UsageRecord)] = append(answers[recordKey(*r.UsageRecord)], answer{
						server: g % 2, quantity: aws.ToInt32(r.UsageRecord.Quantity), status: r.Status, id: aws.ToString(r.MeteringRecordId)})
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}

	winners := make(map[string]answer)
	for _, rec := range records {
		key := recordKey(rec)
		got := answers[key]
		if len(got) != senders {
			t.Errorf("key %s: %d answers, want %d", key, len(got), senders)
			continue
		}
		for _, a := range got {
			switch a.status {
			case types.UsageRecordResultStatusSuccess:
				if w, ok := winners[key]; ok {
					t.Errorf("key %s: Success for quantity %d (process %d) and %d (process %d), want one winner",
						key, w.quantity, w.server+1, a.quantity, a.server+1)
				}
				winners[key] = a
			case types.UsageRecordResultStatusDuplicateRecord:
				if a.id != "" {
					t.Errorf("key %s: DuplicateRecord with id %q, want none", key, a.id)
				}
			default:
				t.Errorf("key %s: status %s, want Success or DuplicateRecord", key, a.status)
			}
		}
		if _, ok := winners[key]; !ok {
			t.Errorf("key %s: no Success among %d answers", key, len(got))
		}
	}
	byServer := [2]int{}
	for _, w := range winners {
		byServer[w.server]++
	}
	t.Logf("winners by process: %v", byServer)

	// An identical retry sent to the other process returns the winner's id.
	for _, rec := range records {
		w, ok := winners[recordKey(rec)]
		if !ok {
			continue
		}
		retry := rec
		retry.Quantity = aws.Int32(w.quantity)
		retry.Timestamp = aws.Time(aws.ToTime(rec.Timestamp).Add(30 * time.Minute)) // same hour
		out, err := clients[1-w.server].BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{
			ProductCode: aws.String(product), UsageRecords: []types.UsageRecord{retry}})
		if err != nil {
			t.Fatalf("retry on process %d = %v", 2-w.server, err)
		}
		if r := out.Results[0]; r.Status != types.UsageRecordResultStatusSuccess || aws.ToString(r.MeteringRecordId) != w.id {
			t.Errorf("retry of %s on the other process = %s %q, want Success %q", recordKey(rec), r.Status, aws.ToString(r.MeteringRecordId), w.id)
		}
	}

	// The ledger, read through either process, holds exactly the winners.
	for i, s := range servers {
		page, err := admin.NewClient(s.URL, adminToken).Usage(ctx, admin.UsageQuery{
			Product: product, From: base.Add(-24 * time.Hour), To: base.Add(time.Hour), Limit: 1000})
		if err != nil {
			t.Fatalf("Usage on process %d = %v", i+1, err)
		}
		if len(page.Records) != len(records) {
			t.Errorf("Usage on process %d = %d records, want %d", i+1, len(page.Records), len(records))
		}
		for _, r := range page.Records {
			key := fmt.Sprintf("%s/%s/%s", r.CustomerIdentifier, r.Dimension, r.Hour.UTC().Format(time.RFC3339))
			if w := winners[key]; r.ID != w.id || r.Quantity != int64(w.quantity) {
				t.Errorf("stored %s = %s quantity %d, want the winner %s quantity %d", key, r.ID, r.Quantity, w.id, w.quantity)
			}
		}
	}
}

// testMeterUsage checks the MeterUsage rules across the two processes with
// the demo buyer's key: ClientToken idempotency and one record per hour.
func testMeterUsage(ctx context.Context, t *testing.T, servers []*meterdtest.Server) {
	a := newClient(servers[0].URL, buyerKey, buyerSecret, clientOptions{})
	b := newClient(servers[1].URL, buyerKey, buyerSecret, clientOptions{})
	base := time.Now().UTC().Truncate(time.Hour)
	meter := func(c *mm.Client, token, dimension string, ts time.Time, quantity int32) (string, error) {
		in := &mm.MeterUsageInput{ProductCode: aws.String(product), UsageDimension: aws.String(dimension),
			Timestamp: aws.Time(ts), UsageQuantity: aws.Int32(quantity)}
		if token != "" {
			in.ClientToken = aws.String(token)
		}
		out, err := c.MeterUsage(ctx, in)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.MeteringRecordId), nil
	}

	t.Run("ClientToken", func(t *testing.T) {
		token := fmt.Sprintf("cluster-token-%d", time.Now().UnixNano())
		ts := base.Add(-time.Hour + 5*time.Minute)
		first, err := meter(a, token, "requests", ts, 3)
		if err != nil {
			t.Fatalf("MeterUsage on process 1 = %v", err)
		}
		again, err := meter(b, token, "requests", ts, 3)
		if err != nil || again != first {
			t.Errorf("same ClientToken on process 2 = %q, %v; want %q", again, err, first)
		}
		_, err = meter(b, token, "requests", base.Add(-2*time.Hour), 3)
		if got := errorCode(err); got != "IdempotencyConflictException" {
			t.Errorf("same ClientToken, other timestamp, on process 2 = %v, want IdempotencyConflictException", err)
		}
	})
	t.Run("HourRule", func(t *testing.T) {
		first, err := meter(a, "", "storage_gb", base.Add(-time.Hour+5*time.Minute), 5)
		if err != nil {
			t.Fatalf("MeterUsage on process 1 = %v", err)
		}
		same, err := meter(b, "", "storage_gb", base.Add(-time.Hour+40*time.Minute), 5)
		if err != nil || same != first {
			t.Errorf("same hour and quantity on process 2 = %q, %v; want %q", same, err, first)
		}
		_, err = meter(b, "", "storage_gb", base.Add(-time.Hour+50*time.Minute), 6)
		if got := errorCode(err); got != "DuplicateRequestException" {
			t.Errorf("same hour, other quantity, on process 2 = %v, want DuplicateRequestException", err)
		}
	})
	t.Run("HourRuleRace", func(t *testing.T) {
		// Eight callers, four per process, race for one hour with their
		// own quantities: one wins, every other gets DuplicateRequest.
		ts := base.Add(-3 * time.Hour)
		ids := make([]string, 8)
		errs := make([]error, 8)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range ids {
			c := []*mm.Client{a, b}[i%2]
			wg.Go(func() {
				<-start
				ids[i], errs[i] = meter(c, "", "requests", ts.Add(time.Duration(i)*time.Minute), int32(10+i))
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil && ids[i] != "":
				wins++
			case errorCode(err) != "DuplicateRequestException":
				t.Errorf("caller %d: MeterUsage = %v, want an id or DuplicateRequestException", i, err)
			}
		}
		if wins != 1 {
			t.Errorf("%d callers won the hour, want 1", wins)
		}
	})
}
