library(paws)

# paws takes the endpoint and the signing region in the client's config; keys come from
# AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
svc <- marketplacemetering(config = list(endpoint = "http://127.0.0.1:4579", region = "us-east-1"))
out <- svc$batch_meter_usage(
  ProductCode = "demo-product",
  UsageRecords = list(list(
    Timestamp = Sys.time(), CustomerIdentifier = "demo-customer-1", Dimension = "requests", Quantity = 3
  ))
)
cat(out$Results[[1]]$Status, out$Results[[1]]$MeteringRecordId, "\n")
