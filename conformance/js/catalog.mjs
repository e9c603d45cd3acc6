// The JS SDK v3 driver of the Catalog API scenarios: node js/catalog.mjs,
// the endpoint from AWS_ENDPOINT_URL_MARKETPLACE_CATALOG (rest-json), the
// demo catalog on the server; exits non-zero naming the first check that
// failed.
import {
  MarketplaceCatalogClient, DescribeEntityCommand, ListEntitiesCommand, StartChangeSetCommand,
  paginateListEntities, ResourceNotFoundException, ValidationException,
} from "@aws-sdk/client-marketplace-catalog";

function client(key) {
  return new MarketplaceCatalogClient({ region: "us-east-1", credentials: { accessKeyId: key, secretAccessKey: key } });
}

function check(cond, detail) {
  if (!cond) throw new Error(detail);
}

async function expectError(promise, type, status, part) {
  try {
    await promise;
  } catch (e) {
    check(e instanceof type, `error ${e.name} (${e.message}) is not a ${type.name}`);
    check(e.$metadata.httpStatusCode === status, `status ${e.$metadata.httpStatusCode}, want ${status}`);
    check(e.message.includes(part), `message ${JSON.stringify(e.message)}, want ${part}`);
    return;
  }
  throw new Error(`call succeeded, want ${type.name}`);
}

const seller = client("test");
const catalog = "AWSMarketplace";

// The product id of an event mapped to its product code.
const product = await seller.send(new DescribeEntityCommand({ Catalog: catalog, EntityId: "prod-demoproduct01" }));
check(product.EntityType === "SaaSProduct@1.0", `EntityType ${product.EntityType}`);
check(product.DetailsDocument.Description.ProductCode === "demo-product", `DetailsDocument ${JSON.stringify(product.DetailsDocument)}`);
check(JSON.parse(product.Details).Description.ProductCode === "demo-product", `Details ${product.Details}`);
check(product.LastModifiedDate.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/), `LastModifiedDate ${product.LastModifiedDate}`);

// Every offer through the paginator, pages of one, by EntityId.
const ids = [];
for await (const page of paginateListEntities({ client: seller, pageSize: 1 }, {
  Catalog: catalog, EntityType: "Offer", Sort: { SortBy: "EntityId", SortOrder: "ASCENDING" },
})) {
  ids.push(...page.EntitySummaryList.map((e) => e.EntityId));
}
check(JSON.stringify(ids) === JSON.stringify(["offer-democontract1", "offer-demotrial0001", "offer-demousage0001"]), `offers ${ids}`);

const trial = await seller.send(new ListEntitiesCommand({
  Catalog: catalog, EntityType: "Offer",
  EntityTypeFilters: { OfferFilters: { Name: { WildCardValue: "trial" } } },
}));
check(trial.EntitySummaryList.length === 1 && trial.EntitySummaryList[0].OfferSummary.ProductId === "prod-demoproduct01",
  `trial offers ${JSON.stringify(trial.EntitySummaryList)}`);
const terms = (await seller.send(new DescribeEntityCommand({ Catalog: catalog, EntityId: "offer-demotrial0001" }))).DetailsDocument.Terms;
const free = terms.find((t) => t.Type === "FreeTrialPricingTerm");
check(free && free.Duration === "P30D" && free.Grants[0].DimensionKey === "requests", `trial terms ${JSON.stringify(terms)}`);

// Errors as the SDK sees them.
await expectError(client("buyer").send(new DescribeEntityCommand({ Catalog: catalog, EntityId: "prod-demoproduct01" })),
  ResourceNotFoundException, 404, "does not exist");
await expectError(seller.send(new ListEntitiesCommand({ Catalog: catalog, EntityType: "Offer", MaxResults: 0 })),
  ValidationException, 422, "MaxResults must be between 1 and 50");
await expectError(seller.send(new StartChangeSetCommand({ Catalog: catalog, ChangeSet: [{ ChangeType: "UpdateInformation",
  Entity: { Type: "SaaSProduct@1.0", Identifier: "prod-demoproduct01" }, Details: "{}" }] })),
ValidationException, 422, "not supported by meterd");
console.log("catalog.mjs: ok");
