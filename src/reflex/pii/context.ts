/**
 * Context words for PII. A bare nine-digit number is nothing on its own; after "SSN:" it is a social
 * security number, after "routing number" a routing number, after "order #" nobody's data at all.
 * Each word belongs to one or more context classes (bit flags); the analyser remembers where each
 * class was last seen and looks back a short distance from every candidate.
 */
import { SECRET_WORDS } from "./secrets.js";

export const CTX_PHONE = 1 << 0;
export const CTX_SSN = 1 << 1;
export const CTX_ITIN = 1 << 2;
export const CTX_CARD = 1 << 3;
export const CTX_ACCOUNT = 1 << 4;
export const CTX_ROUTING = 1 << 5;
export const CTX_DOB = 1 << 6;
export const CTX_PASSPORT = 1 << 7;
export const CTX_LICENSE = 1 << 8;
export const CTX_MEDICAL = 1 << 9;
/** Words that say a number is an identifier of a thing, not a person: order, invoice, ticket… */
export const CTX_NEGATIVE = 1 << 10;
/** Words that say a dotted number is a version ("v1.2.3.4", "release 10.0.0.1"). */
export const CTX_VERSION = 1 << 11;
/** Words after which an assigned value is a secret ("password: …", "api_key = …"). */
export const CTX_SECRET = 1 << 12;
/** "-----BEGIN … PRIVATE KEY-----" anchor. */
export const CTX_PEM = 1 << 13;
/** "hooks.slack.com/services/…" anchor. */
export const CTX_HOOKS = 1 << 14;
export const CTX_MONTH = 1 << 15;
/** The next IBAN-shaped thing is an IBAN even when printed oddly. */
export const CTX_IBAN = 1 << 16;
/** First word of a secret format ("sk" of "sk-proj-…"): see secrets.ts. */
export const CTX_SECRET_WORD = 1 << 17;

export const CTX_CLASS_COUNT = 18;

const WORDS: Array<[number, string]> = [
  [CTX_PHONE, "phone phones telephone tel tele mobile mob cell cellphone call calls calling text texting sms whatsapp fax contact reach ring dial landline hotline telefon telefono numero ph"],
  [CTX_SSN, "ssn ssns social"],
  [CTX_ITIN, "itin taxpayer"],
  [CTX_CARD, "card cards credit debit visa mastercard amex cc ccn cardholder"],
  [CTX_ACCOUNT, "account accounts acct acc checking savings bank banking deposit beneficiary"],
  [CTX_ROUTING, "routing aba rtn transit"],
  [CTX_DOB, "born dob birth birthday birthdate bday"],
  [CTX_PASSPORT, "passport passports"],
  [CTX_LICENSE, "license licence licenses driver drivers driving dl dln"],
  [CTX_MEDICAL, "mrn patient medical chart emr ehr hospital"],
  [CTX_NEGATIVE, "order orders invoice tracking shipment ref reference sku isbn upc ean build ticket item part serial model confirmation transaction txn receipt booking reservation issue pr commit port pid error lot batch zip postcode price total amount cost quantity qty page line row step case claim sha hash checksum"],
  [CTX_VERSION, "version versions ver v release build firmware upgrade upgraded update updated install installed package bump bumped tag semver"],
  [CTX_SECRET, "password passwords passwd pwd passcode passphrase secret token apikey key credential credentials"],
  [CTX_PEM, "begin"],
  [CTX_HOOKS, "hooks"],
  [CTX_MONTH, "january february march april may june july august september october november december jan feb mar apr jun jul aug sep sept oct nov dec"],
  [CTX_IBAN, "iban"],
];

/** word → OR of its context classes */
export const PII_CONTEXT_WORDS: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  for (const [cls, words] of WORDS) for (const w of words.split(" ")) m.set(w, (m.get(w) ?? 0) | cls);
  for (const w of SECRET_WORDS) m.set(w, (m.get(w) ?? 0) | CTX_SECRET_WORD);
  return m;
})();
