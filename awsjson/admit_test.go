package awsjson

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/meterd/meterd"
)

// blockingService holds each MeterUsage until release is closed.
type blockingService struct {
	*fakeService
	entered chan struct{}
	release chan struct{}
}

func (s *blockingService) MeterUsage(ctx context.Context, in *meterd.MeterUsageInput) (*meterd.MeterUsageOutput, error) {
	s.entered <- struct{}{}
	<-s.release
	return &meterd.MeterUsageOutput{MeteringRecordID: "mr-1"}, nil
}

const meterBody = `{"ProductCode":"p","Timestamp":1767323045,"UsageDimension":"d"}`

func TestAdmissionMaxInFlight(t *testing.T) {
	const n = 3
	svc := &blockingService{fakeService: okService(), entered: make(chan struct{}, n), release: make(chan struct{})}
	h, _ := newTestHandler(svc)
	h.Admission = NewAdmission(n, nil, 0, 0, 0)
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() { codes[i] = serve(h, newRequest(meterd.OpMeterUsage, meterBody)).Code })
	}
	for range n {
		<-svc.entered
	}
	assertError(t, serve(h, newRequest(meterd.OpMeterUsage, meterBody)), http.StatusBadRequest, meterd.EThrottling)
	close(svc.release)
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("request %d within the bound = %d, want 200", i, c)
		}
	}
	// The slots are free again.
	svc.entered = make(chan struct{}, 1)
	if got := serve(h, newRequest(meterd.OpMeterUsage, meterBody)).Code; got != http.StatusOK {
		t.Errorf("after release = %d, want 200", got)
	}
}

// TestAdmissionUnknownKeys checks that bodies naming no known key are read
// within their own bounds, globally and per remote address, and that a
// request naming a known key is served beside them.
func TestAdmissionUnknownKeys(t *testing.T) {
	h, _ := newTestHandler(okService())
	h.Admission = NewAdmission(1, func(r *http.Request) bool { return r.Header.Get("Authorization") == "known" }, 0, 3, 2)
	var wg sync.WaitGroup
	var writers []*io.PipeWriter
	// slow starts a request from addr whose body waits on a pipe, and
	// returns once the request holds its slot.
	slow := func(addr string) {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		r := newRequest(meterd.OpMeterUsage, "")
		r.Body, r.RemoteAddr = pr, addr+":1234"
		started := make(chan struct{})
		wg.Go(func() {
			w := httptest.NewRecorder()
			close(started)
			h.ServeHTTP(w, r)
		})
		<-started
		pw.Write([]byte("{")) // returns once the handler reads: the slot is held
	}
	slow("10.0.0.1")
	slow("10.0.0.1")
	r := newRequest(meterd.OpMeterUsage, meterBody)
	r.RemoteAddr = "10.0.0.1:9"
	assertError(t, serve(h, r), http.StatusBadRequest, meterd.EThrottling) // per address
	slow("10.0.0.2")
	r = newRequest(meterd.OpMeterUsage, meterBody)
	r.RemoteAddr = "10.0.0.3:9"
	assertError(t, serve(h, r), http.StatusBadRequest, meterd.EThrottling) // global
	r = newRequest(meterd.OpMeterUsage, meterBody)
	r.RemoteAddr, r.Header["Authorization"] = "10.0.0.1:9", []string{"known"}
	if w := serve(h, r); w.Code != http.StatusOK {
		t.Errorf("request naming a known key beside 3 unknown bodies = %d (%s), want 200", w.Code, w.Body)
	}
	for _, pw := range writers {
		pw.Write([]byte(meterBody[1:]))
		pw.Close()
	}
	wg.Wait()
	r = newRequest(meterd.OpMeterUsage, meterBody)
	r.RemoteAddr = "10.0.0.1:9"
	if w := serve(h, r); w.Code != http.StatusOK {
		t.Errorf("unknown key after the slow bodies ended = %d (%s), want 200", w.Code, w.Body)
	}
}
