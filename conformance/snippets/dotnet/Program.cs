using Amazon.AWSMarketplaceMetering;
using Amazon.AWSMarketplaceMetering.Model;

// ServiceURL points the client at meterd; AuthenticationRegion is the signing region, which
// the SDK cannot infer from 127.0.0.1. Keys come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
var client = new AmazonAWSMarketplaceMeteringClient(new AmazonAWSMarketplaceMeteringConfig
{
    ServiceURL = "http://127.0.0.1:4579",
    AuthenticationRegion = "us-east-1",
});
var output = await client.BatchMeterUsageAsync(new BatchMeterUsageRequest
{
    ProductCode = "demo-product",
    UsageRecords = new List<UsageRecord>
    {
        new UsageRecord
        {
            Timestamp = DateTime.UtcNow, CustomerIdentifier = "demo-customer-1", Dimension = "requests", Quantity = 3,
        },
    },
});
var result = output.Results[0];
Console.WriteLine($"{result.Status} {result.MeteringRecordId}");
