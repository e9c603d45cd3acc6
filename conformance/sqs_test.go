package conformance

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/meterdtest"
)

// TestSQSBoto3 drives the SQS-compatible queues with boto3 through
// AWS_ENDPOINT_URL_SQS (python/sqs_boto3.py checks each answer), checks
// that a message sent before a restart is received after it, and that a
// long-polling consumer of a subscribed queue gets a purchase's
// subscribe-success.
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

	adm := admin.NewClient(srv.URL, srv.AdminToken)
	subscribedQueue(t, adm, "boto3-sns")
	cmd := exec.Command("python3", filepath.Join("python", "sqs_boto3.py"), "subscribed", "boto3-sns")
	cmd.Env = append(srv.Env("unused", "unused"), "AWS_ENDPOINT_URL_SQS="+srv.URL)
	purchaseWhilePolling(t, adm, cmd)
}
