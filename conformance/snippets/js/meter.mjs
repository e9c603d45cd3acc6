import { BatchMeterUsageCommand, MarketplaceMeteringClient } from "@aws-sdk/client-marketplace-metering";

// The endpoint comes from AWS_ENDPOINT_URL_MARKETPLACE_METERING.
const client = new MarketplaceMeteringClient({});
const out = await client.send(new BatchMeterUsageCommand({
  ProductCode: "demo-product",
  UsageRecords: [{ Timestamp: new Date(), CustomerIdentifier: "demo-customer-1", Dimension: "requests", Quantity: 3 }],
}));
console.log(out.Results[0].Status, out.Results[0].MeteringRecordId);
