// Command meter sends one usage record to the endpoint in
// AWS_ENDPOINT_URL_MARKETPLACE_METERING (meterd), signed with the
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY key pair.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"
)

func main() {
	// config.LoadDefaultConfig reads the endpoint and the keys from the
	// environment too; here they are passed explicitly.
	client := mm.New(mm.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(os.Getenv("AWS_ENDPOINT_URL_MARKETPLACE_METERING")),
		Credentials: credentials.NewStaticCredentialsProvider(
			os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
	})
	out, err := client.BatchMeterUsage(context.Background(), &mm.BatchMeterUsageInput{
		ProductCode: aws.String("demo-product"),
		UsageRecords: []types.UsageRecord{{
			Timestamp: aws.Time(time.Now()), CustomerIdentifier: aws.String("demo-customer-1"),
			Dimension: aws.String("requests"), Quantity: aws.Int32(3),
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.Results[0].Status, aws.ToString(out.Results[0].MeteringRecordId))
}
