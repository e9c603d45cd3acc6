// Package crashtest kills a meterd process with SIGKILL under concurrent
// BatchMeterUsage load, restarts it, and checks that every acknowledged
// record is in the ledger exactly once under the id the client was given,
// and that a request whose response was lost is answered with the stored
// ids when retried.
package crashtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/meterdtest"
)

const (
	product   = "demo-product"
	customers = 100
	hours     = 200 // keys spread over this many past hours (--past-window 240h)
	workers   = 8
	rounds    = 5
	perBatch  = 25
)

var dimensions = []string{"requests", "storage_gb"}

// key is one ledger key the test writes, with its quantity.
type key struct {
	customer  string
	dimension string
	hour      int
	quantity  int32
}

func (k key) String() string { return fmt.Sprintf("%s/%s/%d", k.customer, k.dimension, k.hour) }

// keyOf is the k-th distinct key.
func keyOf(k int) key {
	return key{
		customer:  fmt.Sprintf("crash-%03d", k%customers),
		dimension: dimensions[(k/customers)%len(dimensions)],
		hour:      k / customers / len(dimensions),
		quantity:  int32(k%5 + 1),
	}
}

// ledgerState is what the clients were told, shared by the workers.
type ledgerState struct {
	mu    sync.Mutex
	acked map[key]string // key -> MeteringRecordId answered Success
	lost  [][]key        // requests that got no answer
}

func (s *ledgerState) ack(k key, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.acked[k]; ok && old != id {
		return fmt.Errorf("key %v acknowledged as %s and as %s", k, old, id)
	}
	s.acked[k] = id
	return nil
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the meterd binary for about a minute")
	}
	const token = "crash-admin-token"
	srv := meterdtest.Serve(t, meterdtest.Build(t), "--admin-token", token, "--past-window", "240h")
	ctx := context.Background()
	ac := admin.NewClient(srv.URL, token)
	for i := range customers {
		if _, err := ac.Subscribe(ctx, product, admin.SubscribeInput{CustomerIdentifier: fmt.Sprintf("crash-%03d", i)}); err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
	}
	client := mm.New(mm.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	})
	// Timestamps are fixed at the start so that a retry an hour later still
	// names the same hour.
	base := time.Now().UTC().Truncate(time.Hour).Add(time.Minute)
	input := func(keys []key) *mm.BatchMeterUsageInput {
		in := &mm.BatchMeterUsageInput{ProductCode: aws.String(product)}
		for _, k := range keys {
			in.UsageRecords = append(in.UsageRecords, types.UsageRecord{
				CustomerIdentifier: aws.String(k.customer), Dimension: aws.String(k.dimension),
				Timestamp: aws.Time(base.Add(-time.Duration(k.hour) * time.Hour)), Quantity: aws.Int32(k.quantity),
			})
		}
		return in
	}
	// send sends one request and records its answer; a request without an
	// answer is kept for retrying after the restart.
	state := &ledgerState{acked: map[key]string{}}
	send := func(keys []key) error {
		out, err := client.BatchMeterUsage(ctx, input(keys))
		if err != nil {
			state.mu.Lock()
			state.lost = append(state.lost, keys)
			state.mu.Unlock()
			return nil
		}
		if len(out.UnprocessedRecords) != 0 || len(out.Results) != len(keys) {
			return fmt.Errorf("answer has %d results and %d unprocessed, want %d results", len(out.Results), len(out.UnprocessedRecords), len(keys))
		}
		for i, r := range out.Results {
			if r.Status != types.UsageRecordResultStatusSuccess || r.MeteringRecordId == nil {
				return fmt.Errorf("record %v: status %s, want Success with an id", keys[i], r.Status)
			}
			if err := state.ack(keys[i], *r.MeteringRecordId); err != nil {
				return err
			}
		}
		return nil
	}

	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	var next atomic.Int64
	maxKeys := int64(customers * len(dimensions) * hours)
	for round := range rounds {
		var stop atomic.Bool
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Go(func() {
				for !stop.Load() {
					k0 := next.Add(perBatch) - perBatch
					if k0+perBatch > maxKeys {
						return
					}
					keys := make([]key, perBatch)
					for i := range keys {
						keys[i] = keyOf(int(k0) + i)
					}
					if err := send(keys); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond) // the random moment of the crash
		srv.Kill()
		stop.Store(true)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		srv.Restart()
		// Retry every request that lost its answer: now acknowledged, each
		// record keeps the id it was stored under, if it was.
		state.mu.Lock()
		lost := state.lost
		state.lost = nil
		state.mu.Unlock()
		for _, keys := range lost {
			if err := send(keys); err != nil {
				t.Fatalf("round %d: retry after restart: %v", round, err)
			}
		}
		t.Logf("round %d: %d keys sent, %d acknowledged, %d requests retried", round, next.Load(), len(state.acked), len(lost))
	}
	state.mu.Lock()
	lost := len(state.lost)
	state.mu.Unlock()
	if lost != 0 {
		t.Fatalf("%d requests still unanswered after the last restart", lost)
	}
	if len(state.acked) < workers*perBatch {
		t.Fatalf("only %d records acknowledged; the load did not run", len(state.acked))
	}

	// Every acknowledged record is in the ledger once, under its id, and
	// nothing else is.
	stored := readLedger(t, ac)
	seen := map[key]bool{}
	for _, r := range stored {
		var h int
		for h = 0; h < hours; h++ {
			if base.Add(-time.Duration(h) * time.Hour).Truncate(time.Hour).Equal(r.Hour) {
				break
			}
		}
		k := key{customer: r.CustomerIdentifier, dimension: r.Dimension, hour: h}
		k.quantity = int32(r.Quantity)
		if seen[k] {
			t.Errorf("key %v stored twice", k)
		}
		seen[k] = true
		id, ok := state.acked[k]
		if !ok {
			t.Errorf("ledger record %s for %v (quantity %d) was never acknowledged", r.ID, k, r.Quantity)
		} else if id != r.ID {
			t.Errorf("key %v stored as %s, acknowledged as %s", k, r.ID, id)
		}
	}
	for k := range state.acked {
		if !seen[k] {
			t.Errorf("acknowledged key %v (id %s) is not in the ledger", k, state.acked[k])
		}
	}
	t.Logf("%d records acknowledged, %d in the ledger", len(state.acked), len(stored))
	checkSummaries(t, ac, stored)
}

// checkSummaries checks the product's summaries by customer, dimension and
// hour against the sums of the stored records: the server was killed while
// its roller was behind or rolling (it rolls every 100 ms under this
// load), and summaries must count every record once, rolled up or not.
func checkSummaries(t *testing.T, ac *admin.Client, stored []admin.UsageRecord) {
	t.Helper()
	q := admin.UsageQuery{Product: product, From: time.Now().UTC().Truncate(time.Hour).Add(-30 * 24 * time.Hour),
		To: time.Now().UTC().Truncate(time.Hour).Add(24 * time.Hour)}
	for _, by := range []string{"customer", "dimension", "hour"} {
		type sum struct{ quantity, records int64 }
		want := map[string]sum{}
		for _, r := range stored {
			g := map[string]string{"customer": r.CustomerIdentifier + "/" + r.Dimension, "dimension": r.Dimension,
				"hour": r.Hour.UTC().Format(time.RFC3339)}[by]
			s := want[g]
			want[g] = sum{s.quantity + r.Quantity, s.records + 1}
		}
		rows, err := ac.UsageSummary(context.Background(), q, by)
		if err != nil {
			t.Fatalf("UsageSummary(by %s): %v", by, err)
		}
		got := map[string]sum{}
		for _, row := range rows {
			g := row.Group
			if by == "customer" {
				g += "/" + row.Dimension
			}
			s := got[g]
			got[g] = sum{s.quantity + row.Quantity, s.records + row.Records}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("usage summary by %s after the crashes = %v, want the sums of the %d stored records %v", by, got, len(stored), want)
		}
	}
}

// readLedger exports the demo product's records through the admin API.
func readLedger(t *testing.T, ac *admin.Client) []admin.UsageRecord {
	t.Helper()
	q := admin.UsageQuery{Product: product, From: time.Now().Add(-30 * 24 * time.Hour), To: time.Now().Add(24 * time.Hour)}
	rc, err := ac.ExportUsage(context.Background(), q, "jsonl")
	if err != nil {
		t.Fatalf("ExportUsage: %v", err)
	}
	defer rc.Close()
	var out []admin.UsageRecord
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		var r admin.UsageRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("export: %v", err)
	}
	return out
}
