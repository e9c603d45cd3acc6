// JS SDK v3 driver of the meterd conformance suite: node scenarios.mjs, with
// the phases to run on stdin, one a line ({"done": phase} after each).
// The endpoint comes only from AWS_ENDPOINT_URL_MARKETPLACE_METERING; the
// RegisterUsage signature is verified with Node's crypto from the public key.
import crypto from "node:crypto";
import readline from "node:readline";
import * as mm from "@aws-sdk/client-marketplace-metering";

const fx = JSON.parse(process.env.CONFORMANCE_FIXTURE);
const { saas, container: cont, ts } = fx;

class Failure extends Error {}
const check = (cond, detail) => { if (!cond) throw new Failure(detail); };

const client = (creds) => new mm.MarketplaceMeteringClient({
  credentials: { accessKeyId: creds.key, secretAccessKey: creds.secret },
});
const when = (s) => new Date(s * 1000);
const record = (customer, dimension, quantity, extra = {}) => ({
  Timestamp: when(extra.ts ?? ts), Dimension: dimension, Quantity: quantity,
  ...(extra.account ? { CustomerAWSAccountId: extra.account } : { CustomerIdentifier: customer }),
  ...(extra.allocations ? { UsageAllocations: extra.allocations } : {}),
});
const batch = (creds, product, records) =>
  client(creds).send(new mm.BatchMeterUsageCommand({ ProductCode: product, UsageRecords: records }));
const meter = (quantity, extra = {}) => client(fx.buyer).send(new mm.MeterUsageCommand({
  ProductCode: cont, Timestamp: when(extra.ts ?? ts), UsageDimension: extra.dimension ?? "vcpu_hours",
  UsageQuantity: quantity, ...(extra.dryRun ? { DryRun: true } : {}),
  ...(extra.token ? { ClientToken: extra.token } : {}),
}));

// expectError checks the exception's name, that modeled errors are thrown
// as their exported class, and how many attempts the SDK made.
async function expectError(fn, code, attempts) {
  let err;
  try { await fn(); } catch (e) { err = e; }
  check(err, `call succeeded, want ${code}`);
  check(err.name === code, `error name = ${err.name} (${err.message}), want ${code}`);
  if (mm[code]) check(err instanceof mm[code], `${code} is not thrown as its exported class`);
  if (attempts !== undefined) {
    check(err.$metadata?.attempts === attempts, `attempts = ${err.$metadata?.attempts}, want ${attempts}`);
  }
}

const b64url = (s) => Buffer.from(s, "base64url");
function verifyJWS(token, pem, want) {
  const [head, payload, sig] = token.split(".");
  check(JSON.parse(b64url(head)).alg === "PS256", "header alg is not PS256");
  const ok = crypto.verify("sha256", Buffer.from(`${head}.${payload}`), {
    key: pem, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32,
  }, b64url(sig));
  check(ok, "the PS256 signature does not verify with the public key");
  const claims = JSON.parse(b64url(payload));
  for (const [k, v] of Object.entries(want)) check(claims[k] === v, `claim ${k} = ${claims[k]}, want ${v}`);
  check(Number.isInteger(claims.iat), `claim iat = ${claims.iat}, want epoch seconds`);
}

const state = {};
const retryRecord = () => [record("cust-b", "storage_gb", 1, { ts: ts - 2 * 3600 })];
const phases = {
  main: [
    ["BatchMeterUsage success", async () => {
      const out = await batch(fx.seller, saas, [record("cust-a", "requests", 3)]);
      const r = out.Results;
      check(r.length === 1 && r[0].Status === "Success", `results = ${JSON.stringify(r)}, want one Success`);
      check(r[0].MeteringRecordId, "no MeteringRecordId");
      check(Array.isArray(out.UnprocessedRecords) && out.UnprocessedRecords.length === 0, "UnprocessedRecords is not []");
      check(r[0].UsageRecord.Timestamp.getTime() === ts * 1000, `echoed Timestamp = ${r[0].UsageRecord.Timestamp}`);
      state.id = r[0].MeteringRecordId;
    }],
    ["BatchMeterUsage identical retry", async () => {
      const r = (await batch(fx.seller, saas, [record("cust-a", "requests", 3)])).Results;
      check(r[0].Status === "Success" && r[0].MeteringRecordId === state.id,
        `got ${r[0].Status} ${r[0].MeteringRecordId}, want Success ${state.id}`);
    }],
    ["BatchMeterUsage DuplicateRecord", async () => {
      const r = (await batch(fx.seller, saas, [record("cust-a", "requests", 4)])).Results;
      check(r[0].Status === "DuplicateRecord", `status = ${r[0].Status}, want DuplicateRecord`);
    }],
    ["BatchMeterUsage CustomerNotSubscribed", async () => {
      const r = (await batch(fx.seller, saas, [record("cust-gone", "requests", 1)])).Results;
      check(r[0].Status === "CustomerNotSubscribed", `status = ${r[0].Status}, want CustomerNotSubscribed`);
    }],
    ["BatchMeterUsage allocations with tags", async () => {
      const allocations = [
        { AllocatedUsageQuantity: 6, Tags: [{ Key: "env", Value: "prod" }, { Key: "team", Value: "a" }] },
        { AllocatedUsageQuantity: 4 }];
      const r = (await batch(fx.seller, saas, [record("cust-a", "storage_gb", 10, { allocations })])).Results;
      check(r[0].Status === "Success", `status = ${r[0].Status}, want Success`);
      const got = r[0].UsageRecord.UsageAllocations;
      check(got?.length === 2 && got[0].Tags[0].Key === "env", `echoed allocations = ${JSON.stringify(got)}`);
    }],
    ["BatchMeterUsage CustomerAWSAccountId", async () => {
      const r = (await batch(fx.seller, saas, [record(null, "requests", 2, { account: "333344445555" })])).Results;
      check(r[0].Status === "Success", `status = ${r[0].Status}, want Success`);
      check(r[0].UsageRecord.CustomerAWSAccountId === "333344445555", "CustomerAWSAccountId not echoed");
    }],
    ["BatchMeterUsage TimestampOutOfBoundsException", () => expectError(
      () => batch(fx.seller, saas, [record("cust-a", "requests", 1, { ts: ts - 7 * 3600 })]), "TimestampOutOfBoundsException")],
    ["BatchMeterUsage InvalidProductCodeException", () => expectError(
      () => batch(fx.seller, "no-such-product", [record("cust-a", "requests", 1)]), "InvalidProductCodeException")],
    ["BatchMeterUsage InvalidUsageDimensionException", () => expectError(
      () => batch(fx.seller, saas, [record("cust-a", "no_such_dimension", 1)]), "InvalidUsageDimensionException")],
    ["BatchMeterUsage 26 records ValidationException", () => expectError(
      () => batch(fx.seller, saas, Array.from({ length: 26 }, (_, i) => record("cust-a", "requests", 1, { ts: ts - 3600 - i }))),
      "ValidationException")],
    ["BatchMeterUsage wrong secret InvalidSignatureException", () => expectError(
      () => batch({ ...fx.seller, secret: "not-the-secret" }, saas, [record("cust-a", "requests", 1)]),
      "InvalidSignatureException")],
    ["MeterUsage success", async () => {
      const a = await meter(1), b = await meter(1);
      check(a.MeteringRecordId && a.MeteringRecordId === b.MeteringRecordId,
        `identical MeterUsage gave ${a.MeteringRecordId} then ${b.MeteringRecordId}`);
    }],
    ["MeterUsage DryRunOperation", () => expectError(() => meter(1, { dryRun: true }), "DryRunOperation")],
    ["MeterUsage DuplicateRequestException", () => expectError(() => meter(2), "DuplicateRequestException")],
    ["MeterUsage IdempotencyConflictException", async () => {
      const token = `conf-${fx.client}`;
      await meter(1, { dimension: "mem_gb_hours", token });
      await expectError(() => meter(1, { dimension: "mem_gb_hours", token, ts: ts - 3600 }), "IdempotencyConflictException");
    }],
    ["RegisterUsage signature verified", async () => {
      const nonce = `nonce-${fx.client}`;
      const out = await client(fx.buyer).send(new mm.RegisterUsageCommand({ ProductCode: cont, PublicKeyVersion: 1, Nonce: nonce }));
      verifyJWS(out.Signature, fx.public_key_pem, { ProductCode: cont, PublicKeyVersion: 1, Nonce: nonce });
    }],
    ["ResolveCustomer valid", async () => {
      const out = await client(fx.seller).send(new mm.ResolveCustomerCommand({ RegistrationToken: fx.token }));
      check(out.CustomerIdentifier === "cust-a" && out.ProductCode === saas && out.CustomerAWSAccountId === "222233334444",
        `ResolveCustomer = ${JSON.stringify(out)}`);
    }],
    ["ResolveCustomer InvalidTokenException", () => expectError(
      () => client(fx.seller).send(new mm.ResolveCustomerCommand({ RegistrationToken: "not-a-registration-token" })),
      "InvalidTokenException")],
  ],
  expired: [["ResolveCustomer ExpiredTokenException", () => expectError(
    () => client(fx.seller).send(new mm.ResolveCustomerCommand({ RegistrationToken: fx.expired_token })), "ExpiredTokenException")]],
  ...Object.fromEntries(["ThrottlingException", "InternalServiceErrorException"].map((code) => [`retry-${code}`, [
    [`Retries ${code} retried`, async () => {
      const out = await batch(fx.seller, saas, retryRecord());
      check(out.Results[0].Status === "Success", `status = ${out.Results[0].Status}, want Success`);
      check(out.$metadata.attempts === 2, `attempts = ${out.$metadata.attempts}, want 2 after one ${code}`);
    }]]])),
  "noretry-InvalidTagException": [["Retries InvalidTagException not retried", () => expectError(
    () => batch(fx.seller, saas, retryRecord()), "InvalidTagException", 1)]],
};

for await (const line of readline.createInterface({ input: process.stdin })) {
  const phase = line.trim();
  for (const [name, fn] of phases[phase]) {
    let ok = true, detail = "";
    try { await fn(); } catch (e) {
      ok = false;
      detail = e instanceof Failure ? e.message : `${e.name}: ${e.message}`;
    }
    console.log(JSON.stringify({ client: fx.client, scenario: name, ok, detail }));
  }
  console.log(JSON.stringify({ done: phase }));
}
