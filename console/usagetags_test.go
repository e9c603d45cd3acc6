package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"
)

// TestUsageTags breaks the explorer's records down by tag, with the
// explorer's filters, through the admin API's summary by tag.
func TestUsageTags(t *testing.T) {
	s := startServer(t)
	now := s.Clock.Now()
	tagged := func(customer string, q int32, tags ...types.Tag) types.UsageRecord {
		return types.UsageRecord{CustomerIdentifier: aws.String(customer), Dimension: aws.String("requests"), Quantity: aws.Int32(q), Timestamp: aws.Time(now),
			UsageAllocations: []types.UsageAllocation{{AllocatedUsageQuantity: aws.Int32(q), Tags: tags}}}
	}
	eu := types.Tag{Key: aws.String("region"), Value: aws.String("eu")}
	us := types.Tag{Key: aws.String("region"), Value: aws.String("us")}
	out, err := s.meteringClient().BatchMeterUsage(context.Background(), &mm.BatchMeterUsageInput{ProductCode: aws.String("demo-product"),
		UsageRecords: []types.UsageRecord{tagged("demo-customer-1", 7, eu), tagged("demo-customer-2", 5, us)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out.Results {
		if r.Status != types.UsageRecordResultStatusSuccess {
			t.Fatalf("record %v: %s", r.UsageRecord, r.Status)
		}
	}
	c := browser(t)
	login(t, s, c, adminToken)

	code, body, _ := get(t, c, s.URL+"/console/usage?product=demo-product")
	for _, want := range []string{`href="/console/usage/tags?product=demo-product"`, `href="/console/usage.csv?product=demo-product"`} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("usage page = %d, lacks the link %s keeping its filters", code, want)
		}
	}
	code, body, _ = get(t, c, s.URL+"/console/usage/tags?product=demo-product")
	for _, want := range []string{`product=demo-product&amp;tag=region%3Deu">region=eu</a></td><td class="num">7</td><td class="num">1</td>`, `>region=us</a></td><td class="num">5</td>`} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("tag breakdown = %d, lacks %q", code, want)
		}
	}
	_, body, _ = get(t, c, s.URL+"/console/usage/tags?customer=demo-customer-2&from="+now.Add(-time.Hour).Format("2006-01-02T15:04"))
	if strings.Contains(body, "region=eu") || !strings.Contains(body, "region=us") {
		t.Errorf("tag breakdown of demo-customer-2 shows another customer's tags or lacks its own")
	}
	if code, body, _ := get(t, c, s.URL+"/console/usage/tags?to=tomorrow"); code != http.StatusBadRequest || !strings.Contains(body, "is not of the form") {
		t.Errorf("tag breakdown to=tomorrow = %d, want 400 saying why", code)
	}
}
