package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/meterdtest"
)

// TestReadyAfterCatalog starts meterd with a catalog of 10,000 customers
// and polls /readyz from the moment the process starts: the first ready
// answer comes only once every customer's agreement is stored.
func TestReadyAfterCatalog(t *testing.T) {
	const customers = 10_000
	var yaml strings.Builder
	yaml.WriteString("accounts:\n  - {id: \"111122223333\"}\nproducts:\n  - code: big\n    seller: \"111122223333\"\n" +
		"    type: saas\n    dimensions: [{name: requests}]\n    customers:\n")
	for i := range customers {
		fmt.Fprintf(&yaml, "      - {aws_account_id: \"%012d\"}\n", 100000000000+i)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(file, []byte(yaml.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := meterdtest.FreeAddr(t)
	cmd := exec.Command(meterdtest.Build(t), "serve", "--listen", addr, "--data", filepath.Join(dir, "data"),
		"--catalog", file, "--admin-token", "ready-test-token")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url := "http://" + addr
	for ctx.Err() == nil {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		time.Sleep(20 * time.Millisecond) // polling the probe, not waiting for a time window
	}
	if ctx.Err() != nil {
		t.Fatal("/readyz never answered 200")
	}
	agreements, err := admin.NewClient(url, "ready-test-token").Agreements(ctx, admin.AgreementQuery{Product: "big"})
	if err != nil || len(agreements) != customers {
		t.Errorf("at the first ready /readyz, %d agreements (%v), want the catalog's %d", len(agreements), err, customers)
	}
}
