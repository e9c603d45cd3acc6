package events_test

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/events"
	"github.com/meterd/meterd/sqlite"
)

// BenchmarkFanOut1000x3 is issue 14's speed target: 1,000 committed
// lifecycle events (one per customer, as a burst of purchases makes them)
// delivered to 3 subscriptions each (three queues, SNS envelopes signed),
// end to end: from the events in the outbox to 3,000 messages in the
// queues and 3,000 deliveries recorded. Target ≤ 2 s an op. It reports
// the process's CPU time an op too (cpu-s/op), which does not depend on
// what else the machine runs: signing the 3,000 envelopes (RSA 2048) is
// most of it, spread over every core.
func BenchmarkFanOut1000x3(b *testing.B) {
	ctx := b.Context()
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "meterd.db"))
		if err != nil {
			b.Fatal(err)
		}
		demo := catalog.Demo()
		demo.Notifications = nil
		if err := catalog.Apply(ctx, s, demo, time.Now()); err != nil {
			b.Fatal(err)
		}
		signer, err := events.NewSigner(ctx, s)
		if err != nil {
			b.Fatal(err)
		}
		last, _ := s.LastEventSeq(ctx)
		for i := range 3 {
			q := fmt.Sprintf("q%d", i)
			s.CreateQueue(ctx, &meterd.Queue{AccountID: catalog.DemoSellerAccount, Name: q, CreatedAt: time.Now()})
			s.CreateSubscription(ctx, &meterd.Subscription{ID: q, ProductCode: catalog.DemoProduct, AccountID: catalog.DemoSellerAccount,
				Topic: meterd.TopicSubscription, Protocol: meterd.ProtocolSQS, Endpoint: q, SignatureVersion: 1, Confirmed: true,
				AfterSeq: last, CreatedAt: time.Now()})
		}
		var evs []*meterd.Event
		for i := range 1000 {
			c := fmt.Sprintf("cust-%04d", i)
			evs = append(evs, &meterd.Event{ID: "bench-" + c, Channel: meterd.ChannelSubscription, Type: "subscribe-success",
				ProductCode: catalog.DemoProduct, CustomerIdentifier: c,
				Payload:   `{"action":"subscribe-success","customer-identifier":"` + c + `","product-code":"demo-product","isFreeTrialTermPresent":"false"}`,
				CreatedAt: time.Now()})
		}
		if err := s.ApplyMarketChange(ctx, &meterd.MarketChange{Events: evs}); err != nil {
			b.Fatal(err)
		}
		d := &events.Dispatcher{Store: s, Signer: signer, BaseURL: "http://127.0.0.1:4579"}
		b.StartTimer()
		before := cpuTime()
		for {
			n, err := d.RunOnce(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		cpu += cpuTime() - before
		b.StopTimer()
		done, _ := s.Deliveries(ctx, meterd.DeliveryFilter{Status: meterd.DeliveryDelivered})
		if len(done) != 3000 {
			b.Fatalf("%d deliveries delivered, want 3000", len(done))
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
