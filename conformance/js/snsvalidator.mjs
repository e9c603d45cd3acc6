// The npm sns-validator on meterd's SNS messages: node js/snsvalidator.mjs
// HOST FILE... validates each file's message (an SNS envelope as POSTed to
// an HTTP subscriber) with the host pattern ^HOST$, fetching the signing
// certificate from meterd's SigningCertURL (trusted with
// NODE_EXTRA_CA_CERTS). A file whose name contains "tampered" must be
// refused. Prints one line a message; exits non-zero at the first wrong
// outcome.
import { readFileSync } from "node:fs";
import MessageValidator from "sns-validator";

const [host, ...files] = process.argv.slice(2);
const validator = new MessageValidator(new RegExp("^" + host.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "$"));

for (const file of files) {
  const message = JSON.parse(readFileSync(file, "utf8"));
  const err = await new Promise((resolve) => validator.validate(message, (e) => resolve(e)));
  const refused = file.includes("tampered");
  if (refused !== !!err) {
    console.error(`${file}: ${err ? "refused: " + err.message : "accepted"}, want ${refused ? "refused" : "accepted"}`);
    process.exit(1);
  }
  console.log(`${file}: ${message.Type} SignatureVersion ${message.SignatureVersion} ${err ? "refused (" + err.message + ")" : "valid"}`);
}
