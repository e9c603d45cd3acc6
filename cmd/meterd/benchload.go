package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/metering"
	"github.com/meterd/meterd/postgres"
	"github.com/meterd/meterd/sqlite"
)

// loadBatch is the number of records per Commit call of the loader: large,
// so that loading millions of rows is bound by the store, not by calls.
const loadBatch = 5000

// runLoad writes cfg.Load BatchMeterUsage rows directly through the store's
// Commit (no HTTP), to fill a ledger for scale measurements. Rows spread
// over 10,000 customers of cfg.Product, its dimensions and the hours of the
// past 30 days, one row per key; run again, it continues on new customers.
func runLoad(ctx context.Context, cfg *benchConfig, stdout io.Writer) error {
	var ledger meterd.Ledger
	var err error
	if cfg.Store == "sqlite" {
		if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
			return err
		}
		ledger, err = sqlite.Open(ctx, filepath.Join(cfg.Data, "meterd.db"))
	} else {
		ledger, err = postgres.Open(ctx, cfg.Store)
	}
	if err != nil {
		return err
	}
	defer ledger.Close()
	const customers, hours = 10000, 30 * 24
	dims := cfg.Dimensions
	run := time.Now().UnixNano() % 1e9 // a prefix that keeps runs apart
	end := time.Now().UTC().Truncate(time.Hour)
	start := time.Now()
	last := start
	batch := make([]*meterd.MeteringRecord, 0, loadBatch)
	for i := int64(0); i < cfg.Load; i++ {
		c := i % customers
		rest := i / customers
		d := rest % int64(len(dims))
		h := (rest / int64(len(dims))) % hours
		gen := rest / int64(len(dims)) / hours // past every key: new customer names
		hour := end.Add(-time.Duration(h) * time.Hour)
		cust := fmt.Sprintf("load-%d-%d-%05d", run, gen, c)
		batch = append(batch, &meterd.MeteringRecord{
			ID: metering.NewRecordID(), Operation: meterd.OpBatchMeterUsage,
			ProductCode: cfg.Product, CustomerIdentifier: cust, Resource: cust,
			CustomerAWSAccountID: "000000000000", Dimension: dims[d],
			Hour: hour, Timestamp: hour.Add(time.Minute), Quantity: 1 + i%7,
			CallerAccountID: "111122223333", CallerAccessKeyID: "test", ReceivedAt: time.Now(),
		})
		if len(batch) == loadBatch || i == cfg.Load-1 {
			res, err := ledger.Commit(ctx, batch)
			if err != nil {
				return fmt.Errorf("commit at row %d: %w", i, err)
			}
			for _, r := range res {
				if r.Status != meterd.Committed {
					return fmt.Errorf("row %d: status %v, want committed", i, r.Status)
				}
			}
			batch = batch[:0]
			if time.Since(last) >= 10*time.Second {
				last = time.Now()
				fmt.Fprintf(stdout, "%d rows, %.0f rows/s\n", i+1, float64(i+1)/time.Since(start).Seconds())
			}
		}
	}
	el := time.Since(start)
	fmt.Fprintf(stdout, "loaded %d rows in %s: %.0f rows/s\n", cfg.Load, el.Round(time.Millisecond), float64(cfg.Load)/el.Seconds())
	return nil
}
