// The JS SDK v3 driver of the Entitlement Service's conformance scenarios:
// node js/entitlement.mjs, phases on stdin, the fixture in
// CONFORMANCE_FIXTURE, the endpoint from
// AWS_ENDPOINT_URL_MARKETPLACE_ENTITLEMENT_SERVICE. The SDK sends awsJson1_1.
import * as readline from "node:readline";
import {
  MarketplaceEntitlementServiceClient, GetEntitlementsCommand, InvalidParameterException,
} from "@aws-sdk/client-marketplace-entitlement-service";

const fx = JSON.parse(process.env.CONFORMANCE_FIXTURE);
const want = fx.entitlements;

function client(creds, region = "us-east-1") {
  return new MarketplaceEntitlementServiceClient({
    region, credentials: { accessKeyId: creds.key, secretAccessKey: creds.secret }, maxAttempts: 3,
  });
}

function check(cond, detail) {
  if (!cond) throw new Error(detail);
}

async function get(input, creds = fx.seller, region) {
  return client(creds, region).send(new GetEntitlementsCommand({ ProductCode: fx.product, ...input }));
}

async function expectInvalid(input, creds, region, part) {
  try {
    await get(input, creds, region);
  } catch (e) {
    check(e instanceof InvalidParameterException, `error ${e.name} is not an InvalidParameterException`);
    check(e.$metadata.httpStatusCode === 400, `status ${e.$metadata.httpStatusCode}, want 400`);
    check(!part || e.message.includes(part), `message ${JSON.stringify(e.message)}, want ${part}`);
    return;
  }
  throw new Error("call succeeded, want InvalidParameterException");
}

function rows(es) {
  return es.map((e) => {
    check(Object.keys(e.Value).length === 1, `Value ${JSON.stringify(e.Value)}, want exactly one member`);
    return {
      CustomerIdentifier: e.CustomerIdentifier, Dimension: e.Dimension, ProductCode: e.ProductCode, Value: e.Value,
      ExpirationDate: Math.round(e.ExpirationDate.getTime()) / 1000,
      CustomerAWSAccountId: e.CustomerAWSAccountId, LicenseArn: e.LicenseArn,
    };
  });
}

function same(got, expected, what) {
  const a = JSON.stringify(rows(got)), b = JSON.stringify(expected.map((e) => ({
    CustomerIdentifier: e.CustomerIdentifier, Dimension: e.Dimension, ProductCode: e.ProductCode, Value: e.Value,
    ExpirationDate: e.ExpirationDate, CustomerAWSAccountId: e.CustomerAWSAccountId, LicenseArn: e.LicenseArn,
  })));
  check(a === b, `${what} = ${a}, want ${b}`);
}

const of = (pred) => want.filter(pred);
const first = want[0], second = want[want.length - 1];

const phases = {
  main: [
    ["GetEntitlements all", async () => {
      const out = await get({});
      check(out.NextToken === undefined, `NextToken ${out.NextToken} on the only page`);
      same(out.Entitlements, want, "Entitlements");
    }],
    ["GetEntitlements CUSTOMER_IDENTIFIER", async () => {
      const out = await get({ Filter: { CUSTOMER_IDENTIFIER: [first.CustomerIdentifier] } });
      same(out.Entitlements, of((e) => e.CustomerIdentifier === first.CustomerIdentifier), "Entitlements of a customer");
    }],
    ["GetEntitlements CUSTOMER_IDENTIFIER and DIMENSION", async () => {
      const custs = [first.CustomerIdentifier, second.CustomerIdentifier];
      const out = await get({ Filter: { CUSTOMER_IDENTIFIER: custs, DIMENSION: ["seats"] } });
      same(out.Entitlements, of((e) => custs.includes(e.CustomerIdentifier) && e.Dimension === "seats"), "seats");
    }],
    ["GetEntitlements CUSTOMER_AWS_ACCOUNT_ID", async () => {
      const out = await get({ Filter: { CUSTOMER_AWS_ACCOUNT_ID: [second.CustomerAWSAccountId] } });
      same(out.Entitlements, of((e) => e.CustomerAWSAccountId === second.CustomerAWSAccountId), "Entitlements of an account");
    }],
    ["GetEntitlements LICENSE_ARN and DIMENSION", async () => {
      const out = await get({ Filter: { LICENSE_ARN: [first.LicenseArn], DIMENSION: ["premium"] } });
      same(out.Entitlements, of((e) => e.LicenseArn === first.LicenseArn && e.Dimension === "premium"), "premium of a license");
    }],
    ["GetEntitlements none found", async () => {
      const out = await get({ Filter: { CUSTOMER_IDENTIFIER: ["nobody"] } });
      check(Array.isArray(out.Entitlements) && out.Entitlements.length === 0, `Entitlements = ${JSON.stringify(out.Entitlements)}, want []`);
    }],
    ["GetEntitlements pages of 1", async () => {
      let items = [], token, pages = 0;
      do {
        const out = await get({ MaxResults: 1, NextToken: token });
        check(out.Entitlements.length <= 1, `a page of ${out.Entitlements.length}`);
        items = items.concat(out.Entitlements);
        token = out.NextToken;
        pages++;
      } while (token && pages < 100);
      same(items, want, "the pages joined");
      check(pages === want.length, `${pages} pages of 1, want ${want.length}`);
    }],
    ["GetEntitlements DIMENSION alone InvalidParameterException", () =>
      expectInvalid({ Filter: { DIMENSION: ["seats"] } }, fx.seller, undefined, "Invalid filter combination")],
    ["GetEntitlements forged NextToken InvalidParameterException", () =>
      expectInvalid({ NextToken: "eyJzIjoiZm9yZ2VkIn0.Zm9yZ2Vk" })],
    ["GetEntitlements NextToken of another filter InvalidParameterException", async () => {
      const out = await get({ MaxResults: 1 });
      await expectInvalid({ NextToken: out.NextToken, Filter: { CUSTOMER_IDENTIFIER: [second.CustomerIdentifier] } });
    }],
    ["GetEntitlements not the seller InvalidParameterException", () => expectInvalid({}, fx.other)],
    ["GetEntitlements eu-west-1 InvalidParameterException", () => expectInvalid({}, fx.seller, "eu-west-1", "us-east-1")],
  ],
  "retry-ThrottlingException": [
    ["Retries ThrottlingException retried", async () => {
      const out = await get({ Filter: { CUSTOMER_IDENTIFIER: [first.CustomerIdentifier] } });
      check(out.Entitlements.length > 0, "no entitlements after the retry");
      check(out.$metadata.attempts === 2, `attempts = ${out.$metadata.attempts}, want 2 after one ThrottlingException`);
    }],
  ],
};

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  const phase = line.trim();
  for (const [name, fn] of phases[phase] ?? []) {
    let ok = true, detail = "";
    try {
      await fn();
    } catch (e) {
      ok = false;
      detail = `${e.name}: ${e.message}`;
    }
    console.log(JSON.stringify({ client: fx.client, scenario: name, ok, detail }));
  }
  console.log(JSON.stringify({ done: phase }));
}
