package conformance

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/meterd/meterd/internal/meterdtest"
)

// TestSQSBoto3 drives the SQS-compatible queues with boto3 through
// AWS_ENDPOINT_URL_SQS (python/sqs_boto3.py checks each answer), and checks
// that a message sent before a restart is received after it.
func TestSQSBoto3(t *testing.T) {
	t.Parallel()
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	run := func(phase string) {
		t.Helper()
		cmd := exec.Command("python3", filepath.Join("python", "sqs_boto3.py"), phase)
		cmd.Env = append(srv.Env("unused", "unused"), "AWS_ENDPOINT_URL_SQS="+srv.URL)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sqs_boto3.py %s: %v\n%s", phase, err, out)
		}
	}
	run("send")
	srv.Stop()
	srv.Restart()
	run("durable")
}
