package conformance

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/events"
	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/marketplace"
)

// sqsClient is the Go SDK's SQS client as a consumer makes it, only the
// endpoint pointed at meterd.
func sqsClient(url string, cr creds) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(cr.Key, cr.Secret, ""),
	})
}

// TestSQSGoSDK runs an unmodified long-polling consumer written with the Go
// SDK v2's service/sqs (awsJson1_0): the message sent while its receive
// waits is received and deleted, and the errors come back as the SDK's
// types.
func TestSQSGoSDK(t *testing.T) {
	t.Parallel()
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	ctx := context.Background()
	seller := sqsClient(srv.URL, creds{Key: "test", Secret: "test"})
	created, err := seller.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("go-consumer")})
	if err != nil {
		t.Fatalf("CreateQueue() = %v", err)
	}
	url := aws.ToString(created.QueueUrl)
	if want := srv.URL + "/111122223333/go-consumer"; url != want {
		t.Errorf("QueueUrl = %s, want %s", url, want)
	}

	t.Run("LongPollReceiveDelete", func(t *testing.T) {
		received := make(chan *sqs.ReceiveMessageOutput, 1)
		go func() {
			out, err := seller.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
				QueueUrl: aws.String(url), WaitTimeSeconds: 20, MaxNumberOfMessages: 10,
				MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
			})
			if err != nil {
				t.Errorf("ReceiveMessage() = %v", err)
			}
			received <- out
		}()
		sent, err := seller.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(`{"action":"subscribe-success"}`)})
		if err != nil {
			t.Fatalf("SendMessage() = %v", err)
		}
		out := <-received
		if out == nil || len(out.Messages) != 1 {
			t.Fatalf("ReceiveMessage() = %+v, want the one message sent", out)
		}
		m := out.Messages[0]
		// The SDK itself checks MD5OfBody against the body it read.
		if aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) || aws.ToString(m.Body) != `{"action":"subscribe-success"}` ||
			m.Attributes["ApproximateReceiveCount"] != "1" {
			t.Errorf("message = %+v, want id %s, the body sent, receive count 1", m, aws.ToString(sent.MessageId))
		}
		if _, err := seller.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatalf("DeleteMessage() = %v", err)
		}
		after, err := seller.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), VisibilityTimeout: 0})
		if err != nil || len(after.Messages) != 0 {
			t.Errorf("ReceiveMessage() after the delete = %+v, %v; want no message", after, err)
		}
	})

	t.Run("SubscribeSuccessAfterPurchase", func(t *testing.T) {
		// The queue subscribed to the demo product's subscription topic; a
		// new buyer accepts the usage offer; the consumer, already long
		// polling, receives the SNS envelope of subscribe-success.
		adm := admin.NewClient(srv.URL, srv.AdminToken)
		if _, err := seller.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("marketplace-sns")}); err != nil {
			t.Fatalf("CreateQueue() = %v", err)
		}
		snsURL := srv.URL + "/111122223333/marketplace-sns"
		if _, err := adm.CreateSubscription(ctx, events.SubscriptionSpec{Product: catalog.DemoProduct, Topic: "subscription", Protocol: "sqs", Endpoint: "marketplace-sns"}); err != nil {
			t.Fatalf("CreateSubscription() = %v", err)
		}
		type result struct {
			out *sqs.ReceiveMessageOutput
			err error
			at  time.Time
		}
		received := make(chan result, 1)
		go func() {
			out, err := seller.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(snsURL), WaitTimeSeconds: 20})
			received <- result{out, err, time.Now()}
		}()
		purchased := time.Now()
		acc, err := adm.Accept(ctx, marketplace.AcceptInput{Buyer: "135792468024", OfferID: catalog.DemoUsageOffer})
		if err != nil {
			t.Fatalf("Accept() = %v", err)
		}
		r := <-received
		if r.err != nil || len(r.out.Messages) != 1 {
			t.Fatalf("ReceiveMessage() = %+v, %v; want the subscribe-success", r.out, r.err)
		}
		var envelope struct{ Type, TopicArn, Message string }
		var msg struct {
			Action      string `json:"action"`
			Customer    string `json:"customer-identifier"`
			ProductCode string `json:"product-code"`
		}
		body := aws.ToString(r.out.Messages[0].Body)
		if json.Unmarshal([]byte(body), &envelope) != nil || json.Unmarshal([]byte(envelope.Message), &msg) != nil ||
			envelope.Type != "Notification" || msg.Action != "subscribe-success" || msg.Customer != acc.CustomerIdentifier || msg.ProductCode != catalog.DemoProduct {
			t.Fatalf("message = %s, want the SNS envelope of subscribe-success for %s", body, acc.CustomerIdentifier)
		}
		t.Logf("subscribe-success received %v after the purchase was asked for", r.at.Sub(purchased).Round(time.Millisecond))
		if _, err := seller.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(snsURL), ReceiptHandle: r.out.Messages[0].ReceiptHandle}); err != nil {
			t.Errorf("DeleteMessage() = %v", err)
		}
	})

	t.Run("QueueDoesNotExist", func(t *testing.T) {
		_, err := seller.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("no-such-queue")})
		// The type from __type, the code from x-amzn-query-error.
		if e, ok := errors.AsType[*sqstypes.QueueDoesNotExist](err); !ok || e.ErrorCode() != "AWS.SimpleQueueService.NonExistentQueue" {
			t.Errorf("GetQueueUrl(no-such-queue) = %v, want *types.QueueDoesNotExist coded AWS.SimpleQueueService.NonExistentQueue", err)
		}
	})

	t.Run("ReceiptHandleIsInvalid", func(t *testing.T) {
		_, err := seller.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("garbage")})
		if _, ok := errors.AsType[*sqstypes.ReceiptHandleIsInvalid](err); !ok {
			t.Errorf("DeleteMessage(garbage) = %v, want *types.ReceiptHandleIsInvalid", err)
		}
	})

	t.Run("BatchErrors", func(t *testing.T) {
		out, err := seller.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []sqstypes.SendMessageBatchRequestEntry{
			{Id: aws.String("ok"), MessageBody: aws.String("one")},
			{Id: aws.String("bad"), MessageBody: aws.String("two"), MessageAttributes: map[string]sqstypes.MessageAttributeValue{
				"AWS.reserved": {DataType: aws.String("String"), StringValue: aws.String("v")}}},
		}})
		if err != nil || len(out.Successful) != 1 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "bad" ||
			aws.ToString(out.Failed[0].Code) != "InvalidParameterValue" || !out.Failed[0].SenderFault {
			t.Errorf("SendMessageBatch() = %+v, %v; want ok sent and bad failed with InvalidParameterValue", out, err)
		}
		_, err = seller.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []sqstypes.SendMessageBatchRequestEntry{
			{Id: aws.String("x"), MessageBody: aws.String("1")}, {Id: aws.String("x"), MessageBody: aws.String("2")},
		}})
		if e, ok := errors.AsType[*sqstypes.BatchEntryIdsNotDistinct](err); !ok || e.ErrorCode() != "AWS.SimpleQueueService.BatchEntryIdsNotDistinct" {
			t.Errorf("SendMessageBatch(same ids) = %v, want *types.BatchEntryIdsNotDistinct coded AWS.SimpleQueueService.BatchEntryIdsNotDistinct", err)
		}
	})

	t.Run("AnotherAccount", func(t *testing.T) {
		// buyer/buyer is the demo's buyer account 444455556666, which does
		// not own the seller's queue.
		buyer := sqsClient(srv.URL, creds{Key: "buyer", Secret: "buyer"})
		_, err := buyer.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDeniedException" {
			t.Errorf("ReceiveMessage() with another account's key = %v, want AccessDeniedException", err)
		}
	})
}

// TestSQSCLIv1 runs the AWS CLI v1 (awscli's entry point in the image
// Python, awsJson1_0) as a shell consumer would: a long-polling
// receive-message gets the message sent, which delete-message removes; a
// missing queue is the CLI's AWS.SimpleQueueService.NonExistentQueue
// (x-amzn-query-error's code, as against SQS). The CLI v1 sets its own
// SQS endpoint (queue.amazonaws.com and its regional names) over
// AWS_ENDPOINT_URL_SQS in every region, so it needs --endpoint-url, as
// README says.
func TestSQSCLIv1(t *testing.T) {
	t.Parallel()
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	cli := func(args ...string) (string, error) {
		args = append([]string{"-c", "import sys; from awscli.clidriver import main; sys.exit(main())", "--endpoint-url", srv.URL}, args...)
		cmd := exec.Command("python3", args...)
		cmd.Env = srv.Env("test", "test")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := cli("sqs", "create-queue", "--queue-name", "cli-consumer", "--output", "text", "--query", "QueueUrl")
	url := strings.TrimSpace(out)
	if err != nil || url != srv.URL+"/111122223333/cli-consumer" {
		t.Fatalf("aws sqs create-queue: %v\n%s", err, out)
	}
	if out, err := cli("sqs", "send-message", "--queue-url", url, "--message-body", "from the CLI"); err != nil {
		t.Fatalf("aws sqs send-message: %v\n%s", err, out)
	}
	out, err = cli("sqs", "receive-message", "--queue-url", url, "--wait-time-seconds", "20", "--attribute-names", "All", "--output", "json")
	var got struct {
		Messages []struct {
			Body          string
			ReceiptHandle string
			Attributes    map[string]string
		}
	}
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || len(got.Messages) != 1 || got.Messages[0].Body != "from the CLI" ||
		got.Messages[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("aws sqs receive-message: %v\n%s", err, out)
	}
	if out, err := cli("sqs", "delete-message", "--queue-url", url, "--receipt-handle", got.Messages[0].ReceiptHandle); err != nil {
		t.Errorf("aws sqs delete-message: %v\n%s", err, out)
	}
	out, err = cli("sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "--output", "json")
	if err != nil || !strings.Contains(out, `"ApproximateNumberOfMessages": "0"`) || !strings.Contains(out, `"ApproximateNumberOfMessagesNotVisible": "0"`) {
		t.Errorf("aws sqs get-queue-attributes after the delete: %v\n%s; want no message left", err, out)
	}
	// A shell consumer of a subscribed queue gets the subscribe-success of
	// a purchase made while its receive-message runs.
	adm := admin.NewClient(srv.URL, srv.AdminToken)
	subscribedQueue(t, adm, "cli-sns")
	poll := exec.Command("python3", "-c", "import sys; from awscli.clidriver import main; sys.exit(main())", "--endpoint-url", srv.URL,
		"sqs", "receive-message", "--queue-url", srv.URL+"/111122223333/cli-sns", "--wait-time-seconds", "20", "--output", "json")
	poll.Env = srv.Env("test", "test")
	var polled strings.Builder
	poll.Stdout, poll.Stderr = &polled, &polled
	if err := poll.Start(); err != nil {
		t.Fatal(err)
	}
	acc, err := adm.Accept(t.Context(), marketplace.AcceptInput{Buyer: "135792468024", OfferID: catalog.DemoUsageOffer})
	if err != nil {
		t.Fatalf("Accept() = %v", err)
	}
	err = poll.Wait()
	got.Messages = nil
	if err != nil || json.Unmarshal([]byte(polled.String()), &got) != nil || len(got.Messages) != 1 ||
		!strings.Contains(got.Messages[0].Body, `\"action\":\"subscribe-success\"`) || !strings.Contains(got.Messages[0].Body, acc.CustomerIdentifier) {
		t.Fatalf("aws sqs receive-message on the subscribed queue: %v\n%s; want subscribe-success for %s", err, polled.String(), acc.CustomerIdentifier)
	}
	if out, err := cli("sqs", "delete-message", "--queue-url", srv.URL+"/111122223333/cli-sns", "--receipt-handle", got.Messages[0].ReceiptHandle); err != nil {
		t.Errorf("aws sqs delete-message (subscribed queue): %v\n%s", err, out)
	}
	out, err = cli("sqs", "get-queue-url", "--queue-name", "no-such-queue")
	if err == nil || !strings.Contains(out, "(AWS.SimpleQueueService.NonExistentQueue)") {
		t.Errorf("aws sqs get-queue-url no-such-queue: %v\n%s; want AWS.SimpleQueueService.NonExistentQueue", err, out)
	}
}

// subscribedQueue makes a seller's queue subscribed to the demo product's
// subscription topic, through the admin API.
func subscribedQueue(t *testing.T, adm *admin.Client, name string) {
	t.Helper()
	ctx := t.Context()
	if _, err := adm.CreateQueue(ctx, admin.QueueInput{Account: catalog.DemoSellerAccount, Name: name}); err != nil {
		t.Fatalf("CreateQueue(%s) = %v", name, err)
	}
	if _, err := adm.CreateSubscription(ctx, events.SubscriptionSpec{Product: catalog.DemoProduct, Topic: "subscription", Protocol: "sqs", Endpoint: name}); err != nil {
		t.Fatalf("CreateSubscription(%s) = %v", name, err)
	}
}

// TestSQSJS runs js/sqs.mjs, a long-polling consumer written with the JS
// SDK v3's @aws-sdk/client-sqs, which checks each answer; then, once it
// polls a subscribed queue, a buyer's purchase, whose subscribe-success it
// must receive and delete.
func TestSQSJS(t *testing.T) {
	t.Parallel()
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	if v, why := jsPackageVersion("client-sqs")(); v != "3.1138.0" {
		t.Fatalf("@aws-sdk/client-sqs: version %q, want 3.1138.0; %s (see .ci/run for how to install it)", v, why)
	}
	adm := admin.NewClient(srv.URL, srv.AdminToken)
	subscribedQueue(t, adm, "js-sns")
	cmd := exec.Command("node", filepath.Join("js", "sqs.mjs"))
	cmd.Env = append(srv.Env("unused", "unused"), "AWS_ENDPOINT_URL_SQS="+srv.URL, "SNS_QUEUE=js-sns")
	purchaseWhilePolling(t, adm, cmd)
}

// purchaseWhilePolling runs a consumer's script, makes a buyer accept the
// demo's usage offer once it prints "polling", and checks that it printed
// the subscribe-success of that buyer's customer.
func purchaseWhilePolling(t *testing.T, adm *admin.Client, cmd *exec.Cmd) {
	t.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	var out []string
	want := ""
	for lines.Scan() {
		out = append(out, lines.Text())
		if lines.Text() == "polling" && want == "" {
			acc, err := adm.Accept(t.Context(), marketplace.AcceptInput{Buyer: "135792468024", OfferID: catalog.DemoUsageOffer})
			if err != nil {
				t.Errorf("Accept() = %v", err)
				continue
			}
			want = "subscribe-success " + acc.CustomerIdentifier
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s: %v\n%s\n%s", strings.Join(cmd.Args, " "), err, strings.Join(out, "\n"), stderr.String())
	}
	if want == "" || !slices.Contains(out, want) {
		t.Errorf("%s printed %q, want %q", strings.Join(cmd.Args, " "), out, want)
	}
}
