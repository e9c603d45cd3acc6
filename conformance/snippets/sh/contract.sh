set -eu
# A contract product end to end, on a fresh `meterd serve` (the demo catalog), with the meterd
# CLI and the AWS CLI v1 (endpoints from AWS_ENDPOINT_URL_MARKETPLACE_METERING and
# AWS_ENDPOINT_URL_MARKETPLACE_ENTITLEMENT_SERVICE, the seller's key test/test).
# The seller offers 10 seats a month with overage on the usage dimensions; a new buyer buys 5.
meterd accounts create --id 210987654321 >/dev/null
OFFER=$(meterd offers create --product demo-product --pricing contract-with-consumption \
  --duration P1M=seats:10,premium:100 --no-auto-renew --output csv | awk -F, 'NR == 2 {print $1}')
TOKEN=$(meterd buyers purchase --buyer 210987654321 --offer "$OFFER" --duration P1M \
  --quantity seats=5 --quantity premium=0 --output csv | awk -F, '$1 == "x-amzn-marketplace-token" {print $2}')

# The seller's fulfillment page resolves the token it was POSTed...
set -- $(aws meteringmarketplace resolve-customer --registration-token "$TOKEN" \
  --query '[CustomerIdentifier,LicenseArn]' --output text)
CUSTOMER=$1 LICENSE=$2
# ...reads what the customer bought...
aws marketplace-entitlement get-entitlements --product-code demo-product \
  --filter CUSTOMER_IDENTIFIER="$CUSTOMER",DIMENSION=seats --query 'Entitlements[].[Dimension,Value.IntegerValue]' --output text
# ...and meters overage against the contract's license.
aws meteringmarketplace batch-meter-usage --product-code demo-product \
  --usage-records "Timestamp=$(($(date +%s) + 1)),CustomerIdentifier=$CUSTOMER,Dimension=requests,Quantity=250,LicenseArn=$LICENSE" \
  --query 'Results[0].Status' --output text

# A month and a day later (by the server clock) the contract has expired: no entitlements, and
# once the final-metering hour is over the customer is unsubscribed.
meterd clock advance 770h >/dev/null
meterd agreements list --customer "$CUSTOMER" --output csv | awk -F, 'NR == 2 {print $2}'
aws marketplace-entitlement get-entitlements --product-code demo-product \
  --filter CUSTOMER_IDENTIFIER="$CUSTOMER" --query 'length(Entitlements)'
meterd customers list --product demo-product --output csv | awk -F, -v c="$CUSTOMER" '$1 == c {print $3}'
