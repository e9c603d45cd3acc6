package cluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/meterd/meterd/internal/meterdtest"
)

func sqsClient(url string) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(sellerKey, sellerSecret, ""),
	})
}

// TestSQSTwoProcesses runs two meterd processes on one PostgreSQL database:
// a consumer long-polling one of them with the Go SDK receives the message
// a producer sent through the other, and deletes it there.
func TestSQSTwoProcesses(t *testing.T) {
	bin := meterdtest.Build(t)
	servers := serveTogether(t, bin, 2, "--store", cluster.NewDatabase(t), "--admin-token", adminToken)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	producer, consumer := sqsClient(servers[0].URL), sqsClient(servers[1].URL)
	created, err := producer.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("shared-events")})
	if err != nil {
		t.Fatalf("CreateQueue on process 1 = %v", err)
	}
	// The queue URL names process 1's endpoint; process 2 resolves it by
	// account and name, as AWS resolves any of its endpoints' URLs.
	url := created.QueueUrl

	type result struct {
		out *sqs.ReceiveMessageOutput
		err error
		at  time.Time
	}
	received := make(chan result, 1)
	go func() {
		out, err := consumer.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, WaitTimeSeconds: 20})
		received <- result{out, err, time.Now()}
	}()
	// Whether process 2's receive is already waiting or not, it must get
	// the message (events.TestLongPollAcrossProcesses checks the wake
	// itself, with the waiting poll observed).
	sent := time.Now()
	if _, err := producer.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("across")}); err != nil {
		t.Fatalf("SendMessage on process 1 = %v", err)
	}
	r := <-received
	if r.err != nil || len(r.out.Messages) != 1 || aws.ToString(r.out.Messages[0].Body) != "across" {
		t.Fatalf("ReceiveMessage on process 2 = %+v, %v; want the message sent on process 1", r.out, r.err)
	}
	t.Logf("process 2's long poll returned %v after process 1's send", r.at.Sub(sent).Round(time.Millisecond))
	if _, err := consumer.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: r.out.Messages[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage on process 2 = %v", err)
	}
	left, err := producer.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url,
		AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if err != nil || left.Attributes["ApproximateNumberOfMessages"] != "0" || left.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Errorf("queue on process 1 after the delete on process 2 = %v, %v; want empty", left, err)
	}
}

// BenchmarkLongPollIdle measures what long polls cost the server while
// they wait: 0 (the idle server's own background loops, the baseline) or
// 200 receives from the Go SDK wait 5 s on an empty queue, and the server
// process's CPU time is read over the 4 s in the middle of their wait
// (/proc, 10 ms resolution). With PostgreSQL, the recheck's one query per
// second also costs a PostgreSQL backend, outside meterd.
func BenchmarkLongPollIdle(b *testing.B) {
	bin := meterdtest.Build(b)
	for _, store := range []string{"sqlite", "postgres"} {
		for _, polls := range []int{0, 200} {
			b.Run(fmt.Sprintf("%s/polls=%d", store, polls), func(b *testing.B) {
				var args []string
				if store == "postgres" {
					args = []string{"--store", cluster.NewDatabase(b)}
				}
				srv := meterdtest.Serve(b, bin, args...)
				client := sqsClient(srv.URL)
				ctx := context.Background()
				created, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("idle")})
				if err != nil {
					b.Fatal(err)
				}
				const window = 4 * time.Second
				var cpu time.Duration
				for b.Loop() {
					done := make(chan error, polls)
					for range polls {
						go func() {
							_, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: created.QueueUrl, WaitTimeSeconds: 5})
							done <- err
						}()
					}
					time.Sleep(500 * time.Millisecond) // the polls reach their wait
					before := meterdtest.ProcessCPU(srv.PID(), false)
					time.Sleep(window)
					cpu += meterdtest.ProcessCPU(srv.PID(), false) - before
					for range polls {
						if err := <-done; err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N)/window.Seconds(), "meterd-cpu-ms/s")
			})
		}
	}
}
