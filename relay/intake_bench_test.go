package relay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/internal/meterdtest"
)

// BenchmarkPostEvents measures the relay's intake: POST /v1/events over
// HTTP on a SQLite store, each request durable before its answer, with
// batches of 1, 100 and 500 distinct events from 1, 16 and 64 concurrent
// clients. It reports events/s and the process's CPU time per event (the
// clients' included: one process).
//
//	go test -run '^$' -bench PostEvents -benchtime 2000x ./relay
func BenchmarkPostEvents(b *testing.B) {
	for _, batch := range []int{1, 100, 500} {
		for _, clients := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("batch%d/c%d", batch, clients), func(b *testing.B) {
				benchmarkPostEvents(b, filepath.Join(b.TempDir(), "relay.db"), batch, clients)
			})
		}
	}
}

// BenchmarkPostEventsPostgres is BenchmarkPostEvents on a PostgreSQL
// store, at 64 clients; it reports the PostgreSQL server's CPU time per
// event apart (postgres-cpu-µs/event).
func BenchmarkPostEventsPostgres(b *testing.B) {
	for _, batch := range []int{1, 100, 500} {
		b.Run(fmt.Sprintf("batch%d/c64", batch), func(b *testing.B) {
			benchmarkPostEvents(b, cluster.NewDatabase(b), batch, 64)
		})
	}
}

func benchmarkPostEvents(b *testing.B, dsn string, batch, clients int) {
	s, err := Open(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC().Truncate(time.Hour).Add(30 * time.Minute)
	clock := &meterd.ServerClock{}
	clock.Set(now)
	r := New(Config{Store: s, Token: "secret", Clock: clock, Products: []string{"demo-product"}})
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	ts := now.Add(-time.Minute).Format(time.RFC3339)
	var next atomic.Int64
	body := func() []byte {
		var buf bytes.Buffer
		buf.WriteByte('[')
		for i := range batch {
			n := next.Add(1)
			if i > 0 {
				buf.WriteByte(',')
			}
			fmt.Fprintf(&buf, `{"id":"e%d","product_code":"demo-product","customer_identifier":"c%d","dimension":"requests","quantity":1,"timestamp":"%s"}`, n, n%1000, ts)
		}
		buf.WriteByte(']')
		return buf.Bytes()
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	post := func() error {
		req, err := http.NewRequest("POST", srv.URL+"/v1/events", bytes.NewReader(body()))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer secret")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		// Read to the end, or the transport closes the connection and
		// the next request dials a new one.
		answer, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("POST /v1/events = %s", resp.Status)
		}
		if n := bytes.Count(answer, []byte(`"accepted"`)); n != batch {
			return fmt.Errorf("POST /v1/events: %d of %d events accepted: %.200s", n, batch, answer)
		}
		return nil
	}
	cpu0, pg0 := meterdtest.SelfCPU(b), time.Duration(0)
	if s.postgres {
		pg0 = meterdtest.FamilyCPU(cluster.PID())
	}
	b.ResetTimer()
	var requests atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for requests.Add(1) <= int64(b.N) {
				if err := post(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	events := float64(b.N * batch)
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64((meterdtest.SelfCPU(b)-cpu0).Microseconds())/events, "cpu-µs/event")
	if s.postgres {
		b.ReportMetric(float64((meterdtest.FamilyCPU(cluster.PID())-pg0).Microseconds())/events, "postgres-cpu-µs/event")
	}
}
