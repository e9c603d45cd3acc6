package conformance

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/events"
	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/marketplace"
)

// TestSNSValidatorJS has the published npm sns-validator verify real SNS
// deliveries: meterd runs with a test certificate (a TLS listener, so
// SigningCertURL is an https: URL ending in .pem), two HTTP subscribers
// with SignatureVersion 1 and 2 get their SubscriptionConfirmation and,
// once confirmed, a purchase's subscribe-success; js/snsvalidator.mjs
// validates the four, trusting the certificate with NODE_EXTRA_CA_CERTS
// and meterd's host as the host pattern, and refuses one whose Message
// was changed. README's "Signatures" says the same.
func TestSNSValidatorJS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key, pool := meterdtest.SelfSigned(t, dir)
	srv := meterdtest.Serve(t, meterdtest.Build(t), "--tls-cert", cert, "--tls-key", key)
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}

	var mu sync.Mutex
	got := map[string][]map[string]string{} // by subscriber path
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]string
		if err := json.Unmarshal(body, &m); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got[r.URL.Path] = append(got[r.URL.Path], m)
		mu.Unlock()
	}))
	defer rcv.Close()
	wait := func(path string, n int) []map[string]string {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			mu.Lock()
			ms := append([]map[string]string(nil), got[path]...)
			mu.Unlock()
			if len(ms) >= n {
				return ms
			}
		}
		t.Fatalf("subscriber %s got %d messages, want %d", path, len(got[path]), n)
		return nil
	}

	adm := admin.NewClient(srv.URL, srv.AdminToken)
	adm.HTTPClient = trusting
	for _, v := range []int{1, 2} {
		path := "/v" + strconv.Itoa(v)
		if _, err := adm.CreateSubscription(t.Context(), events.SubscriptionSpec{Product: catalog.DemoProduct, Topic: meterd.TopicSubscription,
			Protocol: meterd.ProtocolHTTP, Endpoint: rcv.URL + path, SignatureVersion: v}); err != nil {
			t.Fatal(err)
		}
		conf := wait(path, 1)[0]
		if conf["Type"] != "SubscriptionConfirmation" || !strings.HasPrefix(conf["SigningCertURL"], srv.URL+"/") {
			t.Fatalf("first message to %s = %v, want a SubscriptionConfirmation with SigningCertURL on %s", path, conf, srv.URL)
		}
		resp, err := trusting.Get(conf["SubscribeURL"])
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET SubscribeURL = %v %v", resp, err)
		}
		resp.Body.Close()
	}
	if _, err := adm.Accept(t.Context(), marketplace.AcceptInput{Buyer: "135792468031", OfferID: catalog.DemoUsageOffer}); err != nil {
		t.Fatal(err)
	}
	var files []string
	write := func(name string, m map[string]string) {
		b, _ := json.Marshal(m)
		f := filepath.Join(dir, name+".json")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	for _, path := range []string{"/v1", "/v2"} {
		ms := wait(path, 2)
		note := ms[1]
		if note["Type"] != "Notification" || !strings.Contains(note["Message"], `"action":"subscribe-success"`) {
			t.Fatalf("second message to %s = %v, want the subscribe-success Notification", path, note)
		}
		write(path[1:]+"-confirmation", ms[0])
		write(path[1:]+"-notification", note)
		if path == "/v2" {
			tampered := map[string]string{}
			for k, v := range note {
				tampered[k] = v
			}
			tampered["Message"] = strings.Replace(note["Message"], "subscribe-success", "unsubscribe-success", 1)
			write("v2-tampered", tampered)
		}
	}
	u, _ := url.Parse(srv.URL)
	cmd := exec.Command("node", append([]string{filepath.Join("js", "snsvalidator.mjs"), u.Host}, files...)...)
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+cert)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sns-validator: %v\n%s", err, out)
	}
	t.Logf("sns-validator:\n%s", out)
	if n := strings.Count(string(out), " valid\n"); n != 4 || !strings.Contains(string(out), "v2-tampered.json: Notification SignatureVersion 2 refused") {
		t.Errorf("sns-validator said:\n%s\nwant 4 valid and the tampered one refused", out)
	}
}
