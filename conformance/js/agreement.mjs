// The JS SDK v3 driver of the Agreement Service scenarios (awsJson1_0):
// node js/agreement.mjs, the endpoint from
// AWS_ENDPOINT_URL_MARKETPLACE_AGREEMENT (and _METERING), the demo catalog
// on the server, the demo contract offer (its agreement proposal id and
// terms) as JSON in AGREEMENT_OFFER. The end-to-end purchase: the buyer
// quotes and accepts, the seller finds the agreement and reads it, the
// buyer's registration token resolves to the customer and its license,
// which the seller meters with, and the buyer cancels; then each error.
// Exits non-zero naming the first check that failed.
import {
  MarketplaceAgreementClient, CreateAgreementRequestCommand, AcceptAgreementRequestCommand, SearchAgreementsCommand,
  DescribeAgreementCommand, GetAgreementTermsCommand, GetAgreementEntitlementsCommand, CancelAgreementCommand,
  ListAgreementChargesCommand, paginateSearchAgreements,
  AccessDeniedException, ResourceNotFoundException, ValidationException, ConflictException,
} from "@aws-sdk/client-marketplace-agreement";
import { MarketplaceMeteringClient, ResolveCustomerCommand, BatchMeterUsageCommand } from "@aws-sdk/client-marketplace-metering";

const creds = (key) => ({ region: "us-east-1", credentials: { accessKeyId: key, secretAccessKey: key } });
const seller = new MarketplaceAgreementClient(creds("test"));
const buyer = new MarketplaceAgreementClient(creds("buyer")); // demo buyer 1, account 444455556666
const offer = JSON.parse(process.env.AGREEMENT_OFFER);

function check(cond, detail) {
  if (!cond) throw new Error(detail);
}

async function expectError(promise, type, reason, part) {
  try {
    await promise;
  } catch (e) {
    check(e instanceof type, `error ${e.name} (${e.message}) is not a ${type.name}`);
    check(reason === undefined || e.reason === reason, `${type.name} reason ${e.reason}, want ${reason}`);
    check(e.message.includes(part), `message ${JSON.stringify(e.message)}, want ${part}`);
    return e;
  }
  throw new Error(`call succeeded, want ${type.name}`);
}

const requestedTerms = offer.terms.map((t) => {
  if (t.type === "ConfigurableUpfrontPricingTerm") {
    return { id: t.id, configuration: { configurableUpfrontPricingTermConfiguration: { selectorValue: "P12M", dimensions: [{ dimensionKey: "seats", dimensionValue: 2 }, { dimensionKey: "premium", dimensionValue: 1 }] } } };
  }
  if (t.type === "RenewalTerm") return { id: t.id, configuration: { renewalTermConfiguration: { enableAutoRenew: true } } };
  return { id: t.id };
});
const quote = await buyer.send(new CreateAgreementRequestCommand({ intent: "NEW", agreementProposalIdentifier: offer.agreement_proposal_id, requestedTerms }));
check(quote.agreementRequestId.startsWith("ar-") && quote.chargeSummary.newAgreementValue === "1240.00", `quote ${JSON.stringify(quote)}`);
const { agreementId } = await buyer.send(new AcceptAgreementRequestCommand({ agreementRequestId: quote.agreementRequestId }));
check(agreementId.startsWith("agmt-"), `agreementId ${agreementId}`);

// The seller finds it: its agreements with buyer 444455556666, by the paginator.
const found = [];
for await (const page of paginateSearchAgreements({ client: seller, pageSize: 1 }, {
  catalog: "AWSMarketplace",
  filters: [{ name: "PartyType", values: ["Proposer"] }, { name: "AgreementType", values: ["PurchaseAgreement"] },
    { name: "AcceptorAccountId", values: ["444455556666"] }],
})) {
  found.push(...page.agreementViewSummaries.map((v) => v.agreementId));
}
check(found.length === 2 && found[1] === agreementId, `SearchAgreements ${found}, want the demo's usage agreement (no end: first by end time descending), then the new contract`);
const described = await seller.send(new DescribeAgreementCommand({ agreementId }));
check(described.status === "ACTIVE" && described.estimatedCharges.agreementValue === "1240.00" && described.endTime instanceof Date,
  `DescribeAgreement ${JSON.stringify(described)}`);
const terms = await seller.send(new GetAgreementTermsCommand({ agreementId }));
const upfront = terms.acceptedTerms.find((t) => t.configurableUpfrontPricingTerm)?.configurableUpfrontPricingTerm;
check(upfront && upfront.configuration.selectorValue === "P12M", `GetAgreementTerms ${JSON.stringify(terms.acceptedTerms)}`);

// The buyer's registration token resolves to the customer and its license.
// Records are stamped two seconds on: whole seconds on the wire would put a
// record of the purchase's second before the license's start.
const ents = await buyer.send(new GetAgreementEntitlementsCommand({ agreementId }));
const ent = ents.agreementEntitlements[0];
check(ent.status === "PROVISIONED" && ent.registrationToken, `GetAgreementEntitlements ${JSON.stringify(ents)}`);
const metering = new MarketplaceMeteringClient(creds("test"));
const customer = await metering.send(new ResolveCustomerCommand({ RegistrationToken: ent.registrationToken }));
check(customer.CustomerAWSAccountId === "444455556666" && customer.LicenseArn === ent.licenseArn, `ResolveCustomer ${JSON.stringify(customer)}`);
const metered = await metering.send(new BatchMeterUsageCommand({ ProductCode: customer.ProductCode, UsageRecords: [{
  Timestamp: new Date(Date.now() + 2000), CustomerAWSAccountId: customer.CustomerAWSAccountId, LicenseArn: customer.LicenseArn, Dimension: "requests", Quantity: 3 }] }));
check(metered.Results.length === 1 && metered.Results[0].Status === "Success", `BatchMeterUsage ${JSON.stringify(metered)}`);

await expectError(seller.send(new CancelAgreementCommand({ agreementId })), AccessDeniedException, undefined, "only its acceptor");
await buyer.send(new CancelAgreementCommand({ agreementId }));
check((await seller.send(new DescribeAgreementCommand({ agreementId }))).status === "CANCELLED", "not CANCELLED");
await expectError(buyer.send(new CancelAgreementCommand({ agreementId })), ConflictException, undefined, "not ACTIVE");

// Errors.
await expectError(seller.send(new DescribeAgreementCommand({ agreementId: "agmt-0000000000000000000000000" })), ResourceNotFoundException, undefined, "does not exist");
await expectError(new MarketplaceAgreementClient(creds("buyer")).send(new DescribeAgreementCommand({ agreementId: "agmt 1" })),
  ValidationException, "INVALID_AGREEMENT_ID", "agreementId");
await expectError(buyer.send(new SearchAgreementsCommand({ filters: [{ name: "PartyType", values: ["Acceptor"] },
  { name: "AgreementType", values: ["PurchaseAgreement"] }, { name: "AcceptorAccountId", values: ["444455556666"] }] })),
ValidationException, "UNSUPPORTED_FILTERS", "AcceptorAccountId");
await expectError(buyer.send(new CreateAgreementRequestCommand({ intent: "NEW", agreementProposalIdentifier: offer.agreement_proposal_id, requestedTerms: requestedTerms.slice(1) })),
  ValidationException, "MISSING_MANDATORY_TERMS", "missing");
await expectError(buyer.send(new CreateAgreementRequestCommand({ intent: "NEW", agreementProposalIdentifier: "ap-0000000000000000000000000", requestedTerms })),
  ResourceNotFoundException, undefined, "does not exist");
await expectError(buyer.send(new AcceptAgreementRequestCommand({ agreementRequestId: "ar-0000000000000000000000000" })), ResourceNotFoundException, undefined, "does not exist");
await expectError(seller.send(new ListAgreementChargesCommand({ agreementId })), ValidationException, "UNSUPPORTED_ACTION", "not supported by meterd");
console.log("ok");
