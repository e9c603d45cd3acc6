package conformance

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/internal/meterdtest"
)

// TestReadmeWalkthrough runs README's walkthroughs (every sh block after a
// `<!-- walkthrough -->` line) in README's order, in one shell, against one
// `meterd serve` started as the quick start says, as a newcomer following
// the README from top to bottom would. It runs in a network namespace of
// its own (unshare, as root or in a user namespace), so that README's
// literal addresses (127.0.0.1:4579 and :4580) are free, in a directory
// where a clone's files are (faults/, conformance/) and where ./meterd-data
// is the server's.
func TestReadmeWalkthrough(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	marker := regexp.MustCompile("(?m)^<!-- walkthrough -->\n```sh\n")
	var blocks []string
	for _, m := range marker.FindAllIndex(readme, -1) {
		body, _, ok := strings.Cut(string(readme[m[1]:]), "```\n")
		if !ok {
			t.Fatalf("README: a walkthrough block at byte %d has no end", m[0])
		}
		blocks = append(blocks, body)
	}
	if len(blocks) < 11 {
		t.Fatalf("README has %d walkthrough blocks, want at least 11 (the markers are out of date)", len(blocks))
	}

	bin := meterdtest.Build(t)
	work := t.TempDir()
	root, _ := filepath.Abs("..")
	for _, dir := range []string{"faults", "conformance"} {
		if err := os.Symlink(filepath.Join(root, dir), filepath.Join(work, dir)); err != nil {
			t.Fatal(err)
		}
	}
	var script strings.Builder
	script.WriteString(`set -euo pipefail
ip link set lo up
export PATH="` + filepath.Dir(bin) + `:$PATH"
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
meterd serve >serve.log 2>&1 &   # the quick start
until meterd healthcheck >/dev/null 2>&1; do sleep 0.1; done
`)
	for i, b := range blocks {
		script.WriteString("echo '== walkthrough block " + strconv.Itoa(i+1) + "'\n" + b)
	}
	script.WriteString("echo '== walkthrough done'\n")
	os.WriteFile(filepath.Join(work, "walkthrough.sh"), []byte(script.String()), 0o600)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--map-root-user", "--net", "bash", "walkthrough.sh")
	cmd.Dir = work
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "PYTHONDONTWRITEBYTECODE=1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true"}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "== walkthrough done") {
		log, _ := os.ReadFile(filepath.Join(work, "serve.log"))
		t.Fatalf("README's walkthroughs, in order on one server: %v\n%s\nserver log:\n%s", err, out, log)
	}
	t.Logf("walkthrough output:\n%s", out)
	for _, want := range []string{
		"Success",                      // the snippets
		"20 records, 20 distinct keys", // the retry loop stored each record once
		`"status":"duplicate"`,         // the relay counted the repeated event once
		"backup of ",                   // meterd backup
		"QUANTITY", "submitted", "7",   // the relay's report of the closed hour
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("walkthrough output lacks %q:\n%s", want, out)
		}
	}
}
