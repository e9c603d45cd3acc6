//go:build distribution

// Package distribution tests what meterd ships as: the container image of
// the Containerfile, built by make image and run with podman (else docker)
// with a published port and a named volume, metered through with boto3,
// restarted and health-checked; the release archives of make dist; and
// go install. make test runs it (-tags distribution).
package distribution

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/internal/meterdtest"
)

// engine is the container engine: podman when installed, else docker.
func engine(t *testing.T) string {
	t.Helper()
	for _, e := range []string{"podman", "docker"} {
		if p, err := exec.LookPath(e); err == nil {
			return p
		}
	}
	t.Fatal("neither podman nor docker is installed: apt-get install podman runc")
	return ""
}

// containerEngine runs the engine's commands of one test.
type containerEngine struct {
	t    *testing.T
	bin  string
	name string // podman or docker
}

// run runs the engine with args and returns its stdout, failing the test
// on an error.
func (e *containerEngine) run(args ...string) string {
	e.t.Helper()
	out, err := e.try(args...)
	if err != nil {
		e.t.Fatalf("%s %s: %v", e.name, strings.Join(args, " "), err)
	}
	return out
}

// try runs the engine with args and returns its stdout, or an error with
// its stderr.
func (e *containerEngine) try(args ...string) (string, error) {
	cmd := exec.Command(e.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &engineError{err, stderr.String()}
	}
	return strings.TrimSpace(stdout.String()), nil
}

type engineError struct {
	err    error
	stderr string
}

func (e *engineError) Error() string { return e.err.Error() + ": " + e.stderr }

// waitReady polls url's /readyz until it answers 200 (a start, not a time
// window: each try returns as soon as the server answers).
func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/readyz did not answer 200 within 60s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestImage(t *testing.T) {
	bin := engine(t)
	e := &containerEngine{t: t, bin: bin, name: filepath.Base(bin)}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	id := "meterd-test-" + hex.EncodeToString(suffix)
	image, version := "localhost/"+id+":v0.0.0-test", "v0.0.0-test"

	build := exec.Command("make", "image", "IMAGE="+image, "VERSION="+version, "CONTAINER_ENGINE="+bin)
	if e.name == "podman" {
		// No intermediate images left behind once the image is removed.
		build.Args = append(build.Args, "IMAGE_BUILD_FLAGS=--layers=false")
	}
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	t.Cleanup(func() { e.try("rmi", "-f", image) })

	// What the image declares.
	var cfg struct {
		User         string
		Env          []string
		Entrypoint   []string
		Cmd          []string
		Volumes      map[string]any
		ExposedPorts map[string]any
		Labels       map[string]string
		Healthcheck  struct{ Test []string }
	}
	if err := json.Unmarshal([]byte(e.run("image", "inspect", "--format", "{{json .Config}}", image)), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.User != "65532:65532" || strings.Join(cfg.Entrypoint, " ") != "/meterd" ||
		strings.Join(cfg.Cmd, " ") != "serve --listen 0.0.0.0:4579 --data /data" {
		t.Errorf("image config = user %q, entrypoint %q, cmd %q; want 65532:65532, /meterd, serve on 0.0.0.0:4579 with /data", cfg.User, cfg.Entrypoint, cfg.Cmd)
	}
	if _, ok := cfg.Volumes["/data"]; !ok {
		t.Errorf("image volumes = %v, want /data", cfg.Volumes)
	}
	if _, ok := cfg.ExposedPorts["4579/tcp"]; !ok {
		t.Errorf("image exposed ports = %v, want 4579/tcp", cfg.ExposedPorts)
	}
	// docker keeps the health check in Config; podman's inspect shows it
	// as HealthCheck, beside Config.
	health := cfg.Healthcheck.Test
	if len(health) == 0 {
		var h struct{ Test []string }
		json.Unmarshal([]byte(e.run("image", "inspect", "--format", "{{json .HealthCheck}}", image)), &h)
		health = h.Test
	}
	if strings.Join(health, " ") != "CMD /meterd healthcheck" {
		t.Errorf("image health check = %q, want CMD /meterd healthcheck (exec form, no shell)", health)
	}
	if cfg.Labels["org.opencontainers.image.version"] != version || cfg.Labels["org.opencontainers.image.licenses"] != "Apache-2.0" ||
		cfg.Labels["org.opencontainers.image.source"] == "" {
		t.Errorf("image labels = %v, want the OCI version, licenses and source", cfg.Labels)
	}

	// Run it with a published port and a named volume.
	e.run("volume", "create", id)
	t.Cleanup(func() { e.try("volume", "rm", "-f", id) })
	addr := meterdtest.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	args := []string{"run", "-d", "--name", id, "-p", "127.0.0.1:" + port + ":4579", "-v", id + ":/data"}
	if e.name == "podman" {
		// This machine's cgroup and rlimit setup defeats podman's defaults.
		args = append(args, "--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")
	}
	e.run(append(args, image)...)
	t.Cleanup(func() { e.try("rm", "-f", id) })
	url := "http://" + addr
	waitReady(t, url)
	if logs, _ := e.try("logs", id); logs != "" && !strings.Contains(logs, "published") {
		t.Errorf("banner in the container = %q, want it to say to use the published port", logs)
	}

	// boto3 meters through the published port.
	script := filepath.Join(t.TempDir(), "meter.py")
	os.WriteFile(script, []byte(`import boto3, datetime
c = boto3.client("meteringmarketplace")
r = c.batch_meter_usage(ProductCode="demo-product", UsageRecords=[{"CustomerIdentifier": "demo-customer-1",
    "Dimension": "requests", "Quantity": 7, "Timestamp": datetime.datetime.now(datetime.timezone.utc)}])
res = r["Results"][0]
print(res["Status"], res["MeteringRecordId"])
`), 0o600)
	py := exec.Command("python3", script)
	py.Env = append(os.Environ(), "AWS_ENDPOINT_URL_MARKETPLACE_METERING="+url, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
	out, err := py.CombinedOutput()
	fields := strings.Fields(string(out))
	if err != nil || len(fields) != 2 || fields[0] != "Success" {
		t.Fatalf("boto3 BatchMeterUsage through the container: %v: %s", err, out)
	}
	recordID := fields[1]

	// A restart keeps the record in the volume.
	e.run("restart", id)
	waitReady(t, url)
	var records []struct {
		ID       string `json:"id"`
		Quantity int64  `json:"quantity"`
	}
	if err := json.Unmarshal([]byte(e.run("exec", id, "/meterd", "usage", "list", "--output", "json")), &records); err != nil {
		t.Fatal(err)
	}
	if len(records) != 1 || records[0].ID != recordID || records[0].Quantity != 7 {
		t.Errorf("usage after the restart = %+v, want the one record %s of quantity 7", records, recordID)
	}
	var v struct{ Version string }
	if json.Unmarshal([]byte(e.run("exec", id, "/meterd", "version", "--output", "json")), &v); v.Version != version {
		t.Errorf("meterd version in the image = %q, want %q", v.Version, version)
	}

	// The health check: podman runs it through systemd timers, absent
	// here, so it is run once by hand; docker runs it on its own.
	if e.name == "podman" {
		e.run("healthcheck", "run", id)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		status := e.run("inspect", "--format", "{{.State.Health.Status}}", id)
		if status == "healthy" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health status = %q, want healthy", status)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
