package meterdtest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/meterdtest"
)

// Meter an hour of usage with the AWS SDK for Go, move the server's clock on
// and read what was recorded. In a test, meterdtest.NewServer(t) starts the
// same server and closes it through t.Cleanup; an Example has no t, so it
// uses Start and Close.
func Example() {
	ctx := context.Background()
	hour := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	srv, err := meterdtest.Start(meterdtest.WithClock(hour.Add(30 * time.Minute)))
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	client := mm.New(mm.Options{
		Region:       srv.Region,
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  srv.Credentials(),
	})
	out, err := client.BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{
		ProductCode: aws.String("demo-product"),
		UsageRecords: []types.UsageRecord{{
			CustomerIdentifier: aws.String("demo-customer-1"),
			Dimension:          aws.String("requests"),
			Quantity:           aws.Int32(42),
			Timestamp:          aws.Time(hour.Add(10 * time.Minute)),
		}},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("BatchMeterUsage:", out.Results[0].Status)

	// Seven hours later the record is past the six-hour window.
	srv.Clock.Advance(7 * time.Hour)
	_, err = client.BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{
		ProductCode: aws.String("demo-product"),
		UsageRecords: []types.UsageRecord{{
			CustomerIdentifier: aws.String("demo-customer-1"),
			Dimension:          aws.String("requests"),
			Quantity:           aws.Int32(1),
			Timestamp:          aws.Time(hour.Add(20 * time.Minute)),
		}},
	})
	var late *types.TimestampOutOfBoundsException
	fmt.Println("seven hours later:", errors.As(err, &late))

	page, err := srv.Admin.Usage(ctx, admin.UsageQuery{Product: "demo-product"})
	if err != nil {
		panic(err)
	}
	for _, r := range page.Records {
		fmt.Println(r.CustomerIdentifier, r.Dimension, r.Hour.Format(time.RFC3339), r.Quantity)
	}
	// Output:
	// BatchMeterUsage: Success
	// seven hours later: true
	// demo-customer-1 requests 2026-11-23T07:00:00Z 42
}
