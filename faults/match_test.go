package faults

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/smithy-go"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
)

// TestMatchFilters checks the match fields against real requests: a rule
// affects only what it names.
func TestMatchFilters(t *testing.T) {
	s := newServer(t, 1)
	ctx := t.Context()
	seller, _ := s.client(false)
	buyer := mm.New(mm.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.url),
		Credentials: credentials.NewStaticCredentialsProvider("buyer", "buyer", ""), Retryer: aws.NopRetryer{}})
	meter := func(c *mm.Client) error {
		_, err := c.MeterUsage(ctx, &mm.MeterUsageInput{ProductCode: aws.String(catalog.DemoProduct),
			Timestamp: aws.Time(now), UsageDimension: aws.String("requests"), UsageQuantity: aws.Int32(1)})
		return err
	}
	code := func(err error) string {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			return apiErr.ErrorCode()
		}
		return fmt.Sprint(err)
	}

	t.Run("UnprocessedOnlyMatchingRecords", func(t *testing.T) {
		r := s.add(t, Spec{Operation: "BatchMeterUsage", Customer: catalog.DemoCustomer2, Dimension: "storage_gb", Unprocessed: 1})
		defer s.rules.Delete(r.ID)
		out, err := batch(ctx, seller, records(8))
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range out.UnprocessedRecords {
			if aws.ToString(u.CustomerIdentifier) != catalog.DemoCustomer2 || aws.ToString(u.Dimension) != "storage_gb" {
				t.Errorf("unprocessed %s, want only %s/storage_gb records", key(u), catalog.DemoCustomer2)
			}
		}
		if len(out.UnprocessedRecords) != 2 || len(out.Results) != 6 {
			t.Errorf("%d unprocessed, %d results; want 2 and 6", len(out.UnprocessedRecords), len(out.Results))
		}
	})
	t.Run("CallerIsTheCustomer", func(t *testing.T) {
		other := s.add(t, Spec{Operation: "MeterUsage", Customer: catalog.DemoBuyerAccount2, Error: meterd.EThrottling})
		defer s.rules.Delete(other.ID)
		if err := meter(buyer); err != nil {
			t.Errorf("MeterUsage() by %s with a rule for %s = %v, want success", catalog.DemoBuyerAccount1, catalog.DemoBuyerAccount2, err)
		}
		mine := s.add(t, Spec{Operation: "MeterUsage", Customer: catalog.DemoBuyerAccount1, Error: meterd.EThrottling})
		defer s.rules.Delete(mine.ID)
		if got := code(meter(buyer)); got != meterd.EThrottling {
			t.Errorf("MeterUsage() by %s with a rule for it = %s, want %s", catalog.DemoBuyerAccount1, got, meterd.EThrottling)
		}
	})
	t.Run("Account", func(t *testing.T) {
		r := s.add(t, Spec{Operation: "BatchMeterUsage", Account: catalog.DemoBuyerAccount1, Error: meterd.EInternal})
		defer s.rules.Delete(r.ID)
		if _, err := batch(ctx, seller, records(1)); err != nil {
			t.Errorf("BatchMeterUsage() by the seller with a rule for account %s = %v, want success", catalog.DemoBuyerAccount1, err)
		}
	})
	t.Run("Product", func(t *testing.T) {
		r := s.add(t, Spec{Operation: "BatchMeterUsage", Product: "other-product", Error: meterd.EInternal})
		defer s.rules.Delete(r.ID)
		if _, err := batch(ctx, seller, records(1)); err != nil {
			t.Errorf("BatchMeterUsage() of %s with a rule for other-product = %v, want success", catalog.DemoProduct, err)
		}
	})
}
