# The endpoint comes from AWS_ENDPOINT_URL_MARKETPLACE_METERING; AWS CLI v2 2.9.19 (Debian 12)
# predates that variable: aws --endpoint-url http://127.0.0.1:4579 meteringmarketplace ...
aws meteringmarketplace batch-meter-usage --product-code demo-product \
  --usage-records "Timestamp=$(date +%s),CustomerIdentifier=demo-customer-1,Dimension=requests,Quantity=3" \
  --query 'Results[0].[Status,MeteringRecordId]' --output text
