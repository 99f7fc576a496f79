/**
 * The PII corpus: positives are realistic messages (chat requests, emails, support tickets, forms, logs,
 * config files) carrying labelled values; negatives are the same kinds of messages full of numbers and
 * shapes that are NOT personal data — order ids, timestamps, versions, prices, phone-like but invalid
 * numbers, card-like numbers failing Luhn, hashes, code, placeholders, addresses mentioned in the
 * abstract. Generated deterministically from templates (see generate.ts).
 */
import type { BuiltinPiiType } from "../../../src/reflex/pii/types.js";
import * as v from "./values.js";
import type { Rng } from "./values.js";

export interface PiiSample {
  id: string;
  text: string;
  /** Expected findings (empty for negatives). `value` must be inside the reported match. */
  entities: Array<{ type: BuiltinPiiType; value: string }>;
}

type Filler = (r: Rng) => [string, BuiltinPiiType];

const name = (r: Rng) => `${v.pick(r, v.FIRST)} ${v.pick(r, v.LAST)}`;

const FILL: Record<string, Filler> = {
  email: (r) => [v.email(r), "email"],
  phone_paren: (r) => {
    const [a, b, c] = v.nanpPhone(r);
    return [`(${a}) ${b}-${c}`, "phone"];
  },
  phone_dash: (r) => {
    const [a, b, c] = v.nanpPhone(r);
    return [`${a}-${b}-${c}`, "phone"];
  },
  phone_dot: (r) => {
    const [a, b, c] = v.nanpPhone(r);
    return [`${a}.${b}.${c}`, "phone"];
  },
  phone_us_intl: (r) => {
    const [a, b, c] = v.nanpPhone(r);
    return [v.pick(r, [`+1 ${a} ${b} ${c}`, `+1-${a}-${b}-${c}`, `+1 (${a}) ${b}-${c}`, `1-${a}-${b}-${c}`]), "phone"];
  },
  phone_intl: (r) =>
    [
      v.pick(r, [
        `+44 20 ${v.int(r, 7000, 8999)} ${v.digits(r, 4)}`,
        `+44 7${v.digits(r, 3)} ${v.digits(r, 6)}`,
        `+49 30 ${v.digits(r, 8)}`,
        `+49 151 ${v.digits(r, 8)}`,
        `+33 ${v.int(r, 1, 9)} ${v.digits(r, 2)} ${v.digits(r, 2)} ${v.digits(r, 2)} ${v.digits(r, 2)}`,
        `+34 6${v.digits(r, 2)} ${v.digits(r, 3)} ${v.digits(r, 3)}`,
        `+91 9${v.digits(r, 4)} ${v.digits(r, 5)}`,
        `+81 3-${v.digits(r, 4)}-${v.digits(r, 4)}`,
        `+61 4${v.digits(r, 2)} ${v.digits(r, 3)} ${v.digits(r, 3)}`,
        `+55 11 9${v.digits(r, 4)}-${v.digits(r, 4)}`,
        `+353 87 ${v.digits(r, 3)} ${v.digits(r, 4)}`,
        `+27 82 ${v.digits(r, 3)} ${v.digits(r, 4)}`,
      ]),
      "phone",
    ],
  phone_uk_national: (r) => [v.pick(r, [`020 ${v.int(r, 7000, 8999)} ${v.digits(r, 4)}`, `07${v.digits(r, 3)} ${v.digits(r, 6)}`, `0161 ${v.digits(r, 3)} ${v.digits(r, 4)}`]), "phone"],
  phone_bare: (r) => {
    const [a, b, c] = v.nanpPhone(r);
    return [`${a}${b}${c}`, "phone"];
  },
  card_grouped: (r) => [v.groupCard(v.card(r), " "), "credit_card"],
  card_dash: (r) => [v.groupCard(v.card(r), "-"), "credit_card"],
  card_bare: (r) => [v.card(r), "credit_card"],
  ssn: (r) => [v.ssn(r), "ssn"],
  ssn_bare: (r) => [v.ssn(r).replace(/-/g, ""), "ssn"],
  ssn_spaced: (r) => [v.ssn(r).replace(/-/g, " "), "ssn"],
  itin: (r) => [v.itin(r), "itin"],
  iban: (r) => [v.printIban(v.iban(r)), "iban"],
  iban_compact: (r) => [v.iban(r), "iban"],
  routing: (r) => [v.aba(r), "routing_number"],
  account: (r) => [v.digits(r, v.int(r, 8, 12)).replace(/^0/, "4"), "bank_account"],
  ipv4: (r) => [v.ipv4Public(r), "ipv4"],
  ipv6: (r) => [v.ipv6(r), "ipv6"],
  mac_colon: (r) => [v.mac(r, ":"), "mac_address"],
  mac_dash: (r) => [v.mac(r, "-"), "mac_address"],
  dob_us: (r) => [`${String(v.int(r, 1, 12)).padStart(2, "0")}/${String(v.int(r, 1, 28)).padStart(2, "0")}/${v.int(r, 1940, 2005)}`, "date_of_birth"],
  dob_iso: (r) => [`${v.int(r, 1940, 2005)}-${String(v.int(r, 1, 12)).padStart(2, "0")}-${String(v.int(r, 1, 28)).padStart(2, "0")}`, "date_of_birth"],
  dob_eu: (r) => [`${String(v.int(r, 1, 28)).padStart(2, "0")}.${String(v.int(r, 1, 12)).padStart(2, "0")}.${v.int(r, 1940, 2005)}`, "date_of_birth"],
  dob_text: (r) => {
    const m = v.pick(r, ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]);
    const d = v.int(r, 1, 28);
    const y = v.int(r, 1940, 2005);
    return [v.pick(r, [`${m} ${d}, ${y}`, `${d} ${m} ${y}`, `${m.slice(0, 3)} ${d} ${y}`]), "date_of_birth"];
  },
  passport: (r) => [v.pick(r, [`${String.fromCharCode(v.int(r, 65, 90))}${v.digits(r, 8)}`, v.digits(r, 9), `${v.alnum(r, 2, "ABCDEFGHJKLMNPRSTUVWXYZ")}${v.digits(r, 7)}`]), "passport"],
  dl: (r) => [v.pick(r, [`${String.fromCharCode(v.int(r, 65, 90))}${v.digits(r, 7)}`, `${String.fromCharCode(v.int(r, 65, 90))}${v.digits(r, 3)}-${v.digits(r, 4)}-${v.digits(r, 4)}`, v.digits(r, 9), `${v.alnum(r, 5, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")}${v.digits(r, 6)}${v.alnum(r, 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")}`]), "drivers_license"],
  mrn: (r) => [v.pick(r, [v.digits(r, 7), v.digits(r, 8), `${v.int(r, 10, 99)}${v.digits(r, 6)}`]), "medical_record"],
  aws: (r) => [`AKIA${v.alnum(r, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")}`, "api_key"],
  github: (r) => [`ghp_${v.alnum(r, 36)}`, "api_key"],
  openai: (r) => [`sk-proj-${v.b64url(r, 48)}${v.digits(r, 2)}`, "api_key"],
  stripe: (r) => [`sk_live_${v.alnum(r, 24)}`, "api_key"],
  slack: (r) => [`xoxb-${v.digits(r, 12)}-${v.digits(r, 13)}-${v.alnum(r, 24)}`, "api_key"],
  google: (r) => [`AIza${v.b64url(r, 35)}`, "api_key"],
  hf: (r) => [`hf_${v.alnum(r, 34)}`, "api_key"],
  anthropic: (r) => [`sk-ant-api03-${v.b64url(r, 93)}AA`, "api_key"],
  jwt: (r) => [v.jwt(r), "jwt"],
  pem: (r) => [`-----BEGIN ${v.pick(r, ["RSA ", "EC ", "OPENSSH ", ""])}PRIVATE KEY-----\n${v.alnum(r, 64)}\n${v.alnum(r, 64)}\n-----END ${"$1"}PRIVATE KEY-----`, "private_key"],
  secret_value: (r) => [v.pick(r, [`${v.alnum(r, 10)}!${v.digits(r, 2)}`, `${v.alnum(r, 24)}`, `Tr0ub4dor&${v.digits(r, 2)}`, `${v.alnum(r, 6)}#${v.alnum(r, 6)}`]), "secret"],
  btc: (r) => [v.bitcoinLegacy(r, r() < 0.3), "bitcoin_address"],
  btc_bech: (r) => [v.bitcoinBech32(r), "bitcoin_address"],
  eth: (r) => [`0x${v.hex(r, 40)}`, "ethereum_address"],
};

/** Positive templates: {placeholder} is replaced by a generated value and labelled; {name} is filler. */
const POSITIVE_TEMPLATES: string[] = [
  // email
  "Hi, can you update my contact email to {email}? The old one bounces.",
  "Please forward the signed contract to {email} before Friday.",
  "From: {name} <{email}>\nSubject: Re: quarterly numbers\n\nThanks, see attached.",
  "Customer wrote in from {email} asking about a refund for order 88213.",
  "my email is {email} pls reset my password",
  "CC {email} on the thread so legal sees it.",
  '{"user": "{name}", "email": "{email}", "plan": "pro"}',
  "Write a polite reminder to {name} ({email}) about the overdue invoice.",
  "Add {email} and {email} to the beta list.",
  "Reply-To: {email}",
  // phones
  "You can reach me at {phone_paren} after 6pm.",
  "Call the site manager on {phone_dash} if the gate is locked.",
  "Our office number changed to {phone_dot}.",
  "Text me at {phone_us_intl} when you land.",
  "For the Berlin team, dial {phone_intl}.",
  "Emergency contact: {name}, {phone_intl}",
  "My mobile is {phone_uk_national}, landline rarely answered.",
  "Please call me back: {phone_bare}",
  "Tel.: {phone_intl} / Fax: {phone_intl}",
  "The caller left a voicemail from {phone_paren} about the lease.",
  "phone {phone_dash}, email {email}",
  "Summarize this ticket: customer {name} (tel {phone_us_intl}) says the router reboots every night.",
  // cards
  "I was charged twice on my card {card_grouped}, can you help me dispute it?",
  "Card number: {card_dash}  Exp: 09/27  CVV: 412",
  "please refund to {card_bare}",
  "The booking was paid with the Amex ending in... actually here is the full number {card_grouped}.",
  "Update billing: new credit card {card_grouped}, same billing address.",
  "Here's the customer's payment info from the form: name={name}; cc={card_bare}; zip=94107",
  "Is {card_dash} a valid card? The checkout keeps rejecting it.",
  // SSN / ITIN
  "My SSN is {ssn}, I need it on the W-2 correction.",
  "Applicant: {name}, SSN {ssn}, DOB {dob_us}",
  "social security number: {ssn_bare}",
  "Can you check why the form rejects {ssn}? It's my social.",
  "SSN {ssn_spaced} (spouse)",
  "The employee's ITIN is {itin} and she files jointly.",
  "ITIN: {itin}",
  "Tax ID for the contractor (ITIN) {itin}, please add it to the 1099.",
  // bank
  "Please wire the deposit to IBAN {iban}, reference INV-2231.",
  "IBAN: {iban_compact}\nBIC: DEUTDEFF",
  "Bank details for the refund: {name}, {iban}.",
  "Can you check if this IBAN is correct? {iban}",
  "Direct deposit: routing number {routing}, account number {account}.",
  "ACH details - ABA {routing} / acct {account}",
  "Our checking account number is {account} at First National.",
  "Routing: {routing}",
  "Send the payroll to account {account} (routing {routing}).",
  "Überweisung bitte an {iban}, Verwendungszweck Miete März.",
  // network identifiers
  "The login came from {ipv4}, which is not one of our offices.",
  "Block {ipv4} and {ipv4} at the firewall, they keep brute-forcing SSH.",
  "User's home IP according to the logs: {ipv4}",
  "[2024-05-02 10:31:12] GET /admin 403 from {ipv4}",
  "Customer's device connected from {ipv6} at 03:12.",
  "The IPv6 address {ipv6} shows up in the abuse report.",
  "My laptop's MAC address is {mac_colon}, please whitelist it.",
  "Device MAC {mac_dash} keeps dropping off the network.",
  // DOB
  "Patient {name}, date of birth {dob_us}, presents with a sprained ankle.",
  "DOB: {dob_iso}",
  "I was born on {dob_text} in Lisbon.",
  "Geburtsdatum / date of birth: {dob_eu}",
  "birthday {dob_text}, please add it to my profile",
  "Name: {name}\nDate of birth: {dob_us}\nAddress on file",
  "born {dob_iso}, nationality Portuguese",
  // ID documents / medical
  "My passport number is {passport}, expiring next March.",
  "Passport No.: {passport}",
  "Traveller {name}, passport {passport}, seat 14C.",
  "Driver's license number {dl}, state of issue CA.",
  "DL# {dl}",
  "Please verify the driving licence {dl} against the rental record.",
  "MRN: {mrn}",
  "Patient {name} (MRN {mrn}) was discharged yesterday.",
  "medical record number {mrn}, allergies: penicillin",
  "Lab results for patient ID {mrn} attached.",
  // secrets
  "Why does boto3 say access denied? I set aws_access_key_id = {aws} in ~/.aws/credentials.",
  "here's my token {github}, can you check why git push fails?",
  "export OPENAI_API_KEY={openai}",
  "STRIPE_SECRET_KEY={stripe}",
  "The bot token is {slack} but the app can't post to #general.",
  "const client = new Maps({ key: '{google}' });",
  "HF_TOKEN={hf} python train.py",
  "curl https://api.anthropic.com/v1/messages -H 'x-api-key: {anthropic}'",
  "Authorization: Bearer {jwt}",
  "Can you decode this JWT for me? {jwt}",
  "I pasted the deploy key by mistake:\n{pem}",
  "db password: {secret_value}",
  'config = {"user": "admin", "password": "{secret_value}"}',
  "my password is {secret_value} and it still says invalid",
  "DATABASE_URL settings: api_key={secret_value}",
  // crypto
  "Send the payment to my BTC wallet {btc}.",
  "Bitcoin address: {btc_bech}",
  "Our ETH donation address is {eth}.",
  "Refund the USDT to {eth} on mainnet please.",
  "Tip jar: {btc} (BTC) or {eth} (ETH)",
  // mixed, realistic longer messages
  "Hello support,\n\nI'm {name}, account email {email}. My card {card_grouped} was charged twice on the 3rd. You can call me at {phone_paren}.\n\nThanks",
  "New hire form:\nName: {name}\nSSN: {ssn}\nDOB: {dob_us}\nPhone: {phone_dash}\nBank: routing {routing}, account {account}",
  "Reservation for {name}. Passport {passport}. Contact {email} / {phone_intl}.",
  "Incident 4471: suspicious login for {email} from {ipv4}; MFA reset requested via {phone_us_intl}.",
  "Refund {name}: IBAN {iban}, email {email}, amount 149.00 EUR",
  "Extract the fields as JSON: 'Jane called from {phone_paren}, her email is {email} and her member number is 66120.'",
  "Patient: {name}\nDOB: {dob_iso}\nMRN: {mrn}\nPhone: {phone_dash}\nInsurance ID: BCX-2231",
  "Please translate into Spanish: Dear {name}, your new card {card_dash} has been shipped. Questions? Call {phone_us_intl}.",
  ".env file I accidentally committed:\nDB_HOST=db.internal\nDB_PASSWORD={secret_value}\nSTRIPE_KEY={stripe}",
  "Log excerpt: user={email} ip={ipv4} action=login status=ok",
];

/** Negative templates: realistic text full of numbers and shapes that are not personal data. */
const NEGATIVE_TEMPLATES: Array<(r: Rng) => string> = [
  (r) => `Order #${v.digits(r, 10)} shipped on 2024-0${v.int(r, 1, 9)}-1${v.int(r, 0, 9)} via UPS, tracking 1Z${v.alnum(r, 6, "0123456789ABCDEFGHJKLMNPRSTUVWXYZ")}${v.digits(r, 10)}.`,
  (r) => `Invoice INV-${v.int(r, 2019, 2025)}-${v.digits(r, 5)} total $${v.int(r, 10, 9999)}.${v.digits(r, 2)} due in 30 days.`,
  (r) => `We upgraded from v${v.int(r, 1, 3)}.${v.int(r, 0, 20)}.${v.int(r, 0, 9)} to v${v.int(r, 4, 6)}.${v.int(r, 0, 9)}.${v.int(r, 0, 9)} and the build broke.`,
  (r) => `The server logs show ${v.int(r, 1000, 99999)} requests between 10:${v.int(r, 10, 59)}:${v.int(r, 10, 59)} and 11:${v.int(r, 10, 59)}:${v.int(r, 10, 59)} UTC.`,
  (r) => `Timestamp 17${v.digits(r, 8)} converts to which date? I think it's in ${v.int(r, 2023, 2025)}.`,
  (r) => `The part number is ${v.digits(r, 3)}-${v.digits(r, 3)}-${v.digits(r, 3)}, we need ${v.int(r, 2, 40)} of them.`,
  (r) => `Card-like test: ${v.groupCard(v.luhnBreak(v.card(r)), " ")} is rejected by Luhn, which is the point of the test.`,
  (r) => `Our reference number ${v.groupCard(v.luhnBreak(v.card(r)), "-")} appears on the shipping label.`,
  (r) => `Call extension ${v.int(r, 100, 9999)} for the help desk or press ${v.int(r, 1, 9)} for billing.`,
  (r) => `The phone number 123-456-${v.digits(r, 4)} on the form is clearly a placeholder.`,
  (r) => `Please dial 1-800-FLOWERS or the number on the back of your card.`,
  (r) => `The SSN field shows ${v.invalidSsn(r)}, which can't be real - the SSA never issues that.`,
  (r) => `ISBN 978-${v.int(r, 0, 1)}-${v.digits(r, 3)}-${v.digits(r, 5)}-${v.int(r, 0, 9)} is the second edition.`,
  (r) => `The commit ${v.hex(r, 40)} introduced the regression; revert it.`,
  (r) => `SHA-256: ${v.hex(r, 64)}`,
  (r) => `Request id ${v.hex(r, 8)}-${v.hex(r, 4)}-4${v.hex(r, 3)}-a${v.hex(r, 3)}-${v.hex(r, 12)} failed with 502.`,
  (r) => `The GPS coordinates are ${v.int(r, 10, 60)}.${v.digits(r, 4)}, -${v.int(r, 70, 125)}.${v.digits(r, 4)}.`,
  (r) => `Meeting moved to ${v.int(r, 1, 12)}/${v.int(r, 1, 28)}/2025 at ${v.int(r, 1, 12)}:30pm, room ${v.int(r, 100, 599)}.`,
  (r) => `Set the timeout to ${v.int(r, 1, 60) * 1000} ms and the retry budget to ${v.int(r, 2, 9)}.`,
  (r) => `const MAX_SAFE = ${v.digits(r, 16)};\nconst PORT = ${v.int(r, 3000, 9999)};`,
  (r) => `The population grew from ${v.int(r, 1, 9)},${v.digits(r, 3)},${v.digits(r, 3)} to ${v.int(r, 1, 9)},${v.digits(r, 3)},${v.digits(r, 3)} between ${v.int(r, 1950, 1990)} and 2020.`,
  (r) => `Price went from $${v.int(r, 10, 99)}.${v.digits(r, 2)} to $${v.int(r, 100, 199)}.${v.digits(r, 2)} (+${v.int(r, 5, 90)}%).`,
  (r) => `Zip codes ${v.digits(r, 5)} and ${v.digits(r, 5)}-${v.digits(r, 4)} are in the delivery area.`,
  (r) => `Windows build 10.0.${v.int(r, 19041, 22631)}.${v.int(r, 1000, 4000)} has the bug, build 10.0.${v.int(r, 22000, 26100)}.${v.int(r, 1, 999)} doesn't.`,
  (r) => `Chrome ${v.int(r, 100, 125)}.0.${v.int(r, 5000, 6500)}.${v.int(r, 10, 200)} renders the page fine.`,
  (r) => `Bind the dev server to 0.0.0.0:${v.int(r, 3000, 9000)} and open localhost in the browser.`,
  (r) => `Send an email to the address on file and ask them to confirm the change.`,
  (r) => `What's a good regex for validating an email address in JavaScript?`,
  (r) => `Use the format name@domain.tld in the email field, and the phone field only takes digits.`,
  (r) => `Install it with npm i @types/node@20.${v.int(r, 1, 15)}.${v.int(r, 0, 9)} and restart the TS server.`,
  (r) => `Tag @${v.pick(r, v.FIRST).toLowerCase()} in the PR and mention @team-backend for review.`,
  (r) => `git clone git@github.com:acme/${v.pick(r, ["api", "web", "infra"])}.git && cd ${v.pick(r, ["api", "web", "infra"])}`,
  (r) => `Docs example: send mail to user@example.com or admin@example.org to test the SMTP config.`,
  (r) => `The API key goes in the Authorization header as "Bearer <YOUR_API_KEY>"; never commit it.`,
  (r) => `OPENAI_API_KEY=sk-... (put your own key here)`,
  (r) => `password: ******** (hidden)`,
  (r) => `token: \${GITHUB_TOKEN} is injected by the CI runner at build time.`,
  (r) => `We use scikit-learn (sk-learn) ${v.int(r, 0, 1)}.${v.int(r, 20, 5)} for the baseline model.`,
  (r) => `My passport expires next year, how early can I renew it?`,
  (r) => `How do I renew a driver's license online in Texas?`,
  (r) => `The medical record system exports CSV with ${v.int(r, 10, 80)} columns; which ones are required?`,
  (r) => `Apache License 2.0 vs MIT license: which should I use for a CLI tool?`,
  (r) => `The routing table has ${v.int(r, 100, 999)} entries after the BGP update.`,
  (r) => `Account ${v.pick(r, ["settings", "preferences", "recovery"])} page returns 500 after the deploy on ${v.int(r, 1, 28)} March.`,
  (r) => `Our savings rate is ${v.int(r, 1, 5)}.${v.digits(r, 2)}% APY, compounded monthly.`,
  (r) => `Born in the ${v.int(r, 5, 9)}0s, the band released ${v.int(r, 3, 12)} albums.`,
  (r) => `The bitcoin price hit ${v.int(r, 30, 99)},${v.digits(r, 3)} USD; ethereum trades at ${v.int(r, 1, 4)},${v.digits(r, 3)}.`,
  (r) => `Transaction hash 0x${v.hex(r, 64)} is still pending.`,
  (r) => `Color palette: #${v.hex(r, 6)}, #${v.hex(r, 6)}, #${v.hex(r, 6)}.`,
  (r) => `Matrix:\n[[${v.int(r, 1, 9)}, ${v.int(r, 1, 9)}, ${v.int(r, 1, 9)}], [${v.int(r, 1, 9)}, ${v.int(r, 1, 9)}, ${v.int(r, 1, 9)}]]`,
  (r) => `${v.int(r, 12, 99)} * ${v.int(r, 12, 99)} = ? Show the long multiplication.`,
  (r) => `Flight LH${v.int(r, 100, 999)} departs at 14:${v.int(r, 10, 59)} from gate B${v.int(r, 1, 60)}, seat ${v.int(r, 1, 40)}C.`,
  (r) => `The bus timetable: 07:15, 07:45, 08:15, 08:45, then every ${v.int(r, 10, 30)} minutes.`,
  (r) => `Error 0x800${v.hex(r, 5)} when installing the update; KB${v.digits(r, 7)} fixes it.`,
  (r) => `Stripe test card 4242 4242 4242 4242 works with any future expiry and any CVC.`,
  (r) => `Ticket ${v.int(r, 1000, 9999)}-${v.digits(r, 2)}-${v.digits(r, 4)} was closed as a duplicate.`,
  (r) => `Our IBAN validator rejects DE00 1234 5678 9012 3456 78, which is expected.`,
  (r) => `Time series: ${Array.from({ length: 8 }, () => v.int(r, 100, 999)).join(", ")}`,
  (r) => `In 1969 Apollo 11 landed; in ${v.int(r, 1970, 2020)} the anniversary was celebrated by ${v.int(r, 1, 9)} million people.`,
  (r) => `Set vm.max_map_count=${v.int(r, 200000, 300000)} and ulimit -n ${v.int(r, 10000, 99999)} before starting Elasticsearch.`,
  (r) => `The coupon code SAVE${v.int(r, 10, 50)} gives ${v.int(r, 10, 50)}% off orders above $${v.int(r, 50, 200)}.`,
  (r) => `${v.pick(r, v.FIRST)} scored ${v.int(r, 60, 100)}/100 on the test and ranked ${v.int(r, 1, 30)} of ${v.int(r, 30, 200)}.`,
  (r) => `Latency p50 ${v.int(r, 10, 99)} ms, p95 ${v.int(r, 100, 400)} ms, p99 ${v.int(r, 400, 999)} ms over ${v.int(r, 10000, 99999)} requests.`,
  (r) => `docker run -p ${v.int(r, 3000, 9000)}:80 -e WORKERS=${v.int(r, 2, 16)} nginx:1.${v.int(r, 20, 27)}`,
  (r) => `Please print the date in ISO format, e.g. 2025-${String(v.int(r, 1, 12)).padStart(2, "0")}-${String(v.int(r, 1, 28)).padStart(2, "0")}T10:00:00Z.`,
  (r) => `Dimensions: ${v.int(r, 10, 200)} x ${v.int(r, 10, 200)} x ${v.int(r, 10, 200)} cm, weight ${v.int(r, 1, 40)}.${v.int(r, 0, 9)} kg.`,
  (r) => `The spreadsheet has ${v.int(r, 1000, 50000)} rows; column F sums to ${v.int(r, 100000, 9999999)}.`,
  (r) => `Use 127.0.0.1 for local testing; the staging box is behind the VPN.`,
  (r) => `Our subnet is 10.${v.int(r, 0, 255)}.0.0/16 and the gateway is on .1 as usual.`,
  (r) => `Model ${v.pick(r, ["XPS", "ThinkPad", "MacBook"])} ${v.int(r, 13, 16)} (20${v.int(r, 18, 25)}), serial number withheld, warranty until 20${v.int(r, 25, 28)}.`,
  (r) => `Store #${v.int(r, 100, 999)} reported ${v.int(r, 10, 99)} returns this week, up from ${v.int(r, 1, 9)} last week.`,
  (r) => `The bug report says "crash at 0x${v.hex(r, 8)}" in module libfoo.so.${v.int(r, 1, 9)}.`,
  (r) => `Fibonacci: 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987`,
  (r) => `Convert ${v.int(r, 1000000, 9999999)} seconds into days, hours and minutes.`,
  (r) => `What is 1${v.digits(r, 9)} modulo 97?`,
  (r) => `My phone keeps restarting after the iOS 17.${v.int(r, 1, 6)}.${v.int(r, 1, 3)} update, any fix?`,
  (r) => `The contract number on the letter is CN-${v.digits(r, 4)}-${v.digits(r, 4)}-${v.digits(r, 4)}.`,
  (r) => `Socket error: connect ECONNREFUSED 127.0.0.1:${v.int(r, 3000, 9999)}`,
  (r) => `Date range: 2024-01-01 to 2024-12-31, ${v.int(r, 200, 365)} business records.`,
  (r) => `Our support line (see website) is open 9-5, Monday to Friday.`,
  (r) => `The lottery numbers were ${Array.from({ length: 6 }, () => v.int(r, 1, 49)).join(" ")}.`,
  (r) => `Cache key: user:${v.int(r, 1000, 9999)}:session:${v.hex(r, 12)}`,
  (r) => `Account number field must be 8-17 digits; how do I write that validation in zod?`,
  (r) => `Our bank's routing rules changed, so transfers take ${v.int(r, 1, 3)} business days now.`,
  (r) => `See RFC ${v.int(r, 1000, 9999)} section ${v.int(r, 1, 9)}.${v.int(r, 1, 9)} for the header format.`,
  (r) => `The table shows ${v.int(r, 100, 999)}-${v.int(r, 10, 99)}-${v.int(r, 1000, 9999)} as the batch code; is that a date?`,
  (r) => `Mix 2 cups flour, 1.5 cups sugar, 3 eggs and bake at 180 °C for 35-40 minutes.`,
  (r) => `UUID v4 example: ${v.hex(r, 8)}-${v.hex(r, 4)}-4${v.hex(r, 3)}-8${v.hex(r, 3)}-${v.hex(r, 12)}`,
  (r) => `Image ${v.hex(r, 12)} size ${v.int(r, 100, 999)}MB created ${v.int(r, 2, 9)} days ago`,
  (r) => `Base64 of the logo: iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk${v.alnum(r, 20)}=`,
];

/** Hand-written messy cases: odd spacing, key=value, URLs, lowercase, short years. */
const HANDWRITTEN_POSITIVES: Array<[string, Array<[BuiltinPiiType, string]>]> = [
  ["pls call +1 415-555-0132 asap", [["phone", "+1 415-555-0132"]]],
  ["my number: 415 555 0187 (cell)", [["phone", "415 555 0187"]]],
  ["Office: +49 (0)30 2345 6789", [["phone", "+49 (0)30 2345 6789"]]],
  ["reach me on 0049 30 23456789 during office hours", [["phone", "0049 30 23456789"]]],
  ["tel:+14155550132", [["phone", "+14155550132"]]],
  ["WeChat/phone +86 138 0013 8000", [["phone", "+86 138 0013 8000"]]],
  ["Moscow office +7 (495) 123-45-67", [["phone", "+7 (495) 123-45-67"]]],
  ["Contact: First.Last+billing@sub.domain.co.uk", [["email", "First.Last+billing@sub.domain.co.uk"]]],
  ["write to a_b-c@x-y.io or mailto:dana.k@firm.law", [["email", "a_b-c@x-y.io"], ["email", "dana.k@firm.law"]]],
  ["EMAIL: MARIA.SILVA@OUTLOOK.COM", [["email", "MARIA.SILVA@OUTLOOK.COM"]]],
  ["SSN#: 536 22 1234", [["ssn", "536 22 1234"]]],
  ["ss# 412-09-8871 for the background check", [["ssn", "412-09-8871"]]],
  ["SSN - 536221234", [["ssn", "536221234"]]],
  ["card: 4539148803436467 exp 11/26", [["credit_card", "4539148803436467"]]],
  ["amex 3714 496353 98431? no wait it's 3759 876543 21004", [["credit_card", "3759 876543 21004"]]],
  ["Visa 4556-7375-8689-9855, billing zip 10001", [["credit_card", "4556-7375-8689-9855"]]],
  ["D.O.B. 4/7/1992", [["date_of_birth", "4/7/1992"]]],
  ["birthdate: 12-31-1975", [["date_of_birth", "12-31-1975"]]],
  ["She was born 07 Apr 1992 in Porto.", [["date_of_birth", "07 Apr 1992"]]],
  ["dob 1992-04-07, blood type O+", [["date_of_birth", "1992-04-07"]]],
  ["my passport # is 512345678", [["passport", "512345678"]]],
  ["Passport: C01X00T47 (German)", [["passport", "C01X00T47"]]],
  ["licence no. DOE99802037JD9AB", [["drivers_license", "DOE99802037JD9AB"]]],
  ["patient MRN 00781234 admitted to ward 3", [["medical_record", "00781234"]]],
  ["IBAN GB29 NWBK 6016 1331 9268 19", [["iban", "GB29 NWBK 6016 1331 9268 19"]]],
  ["iban: NL91ABNA0417164300", [["iban", "NL91ABNA0417164300"]]],
  ["postgres://admin:S3cr3tPa55@db.internal:5432/app", [["secret", "S3cr3tPa55"]]],
  ["aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Lr3Tq4", [["secret", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Lr3Tq4"]]],
  ["Authorization: token ghp_4fR9qLm2ZxT8vB1nK7cW3yH6pD0sJ5aE2uI9", [["api_key", "ghp_4fR9qLm2ZxT8vB1nK7cW3yH6pD0sJ5aE2uI9"]]],
  ["client_secret: \"3fG7kL9mN2pQ5rS8tV1wX4yZ\"", [["secret", "3fG7kL9mN2pQ5rS8tV1wX4yZ"]]],
  ["ssh from 84.17.52.201 failed 14 times", [["ipv4", "84.17.52.201"]]],
  ["X-Forwarded-For: 91.198.174.192, 10.0.0.4", [["ipv4", "91.198.174.192"], ["ipv4", "10.0.0.4"]]],
  ["mac=a4:83:e7:1c:9b:02", [["mac_address", "a4:83:e7:1c:9b:02"]]],
  ["Routing/ABA: 026009593 Acct: 483920174", [["routing_number", "026009593"], ["bank_account", "483920174"]]],
  ["ETH: 0x52908400098527886E0F7030069857D2E4169EE7", [["ethereum_address", "0x52908400098527886E0F7030069857D2E4169EE7"]]],
  ["send btc to 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy thanks", [["bitcoin_address", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"]]],
  ["ITIN 943-71-2266 (non-resident)", [["itin", "943-71-2266"]]],
  ["her phone is (212) 555-0147 and email j.wu@columbia.edu", [["phone", "(212) 555-0147"], ["email", "j.wu@columbia.edu"]]],
  ["slack webhook: https://hooks.slack.com/services/T024BE7LD/B01ABCD2EFG/aBcDeFgHiJkLmNoPqRsTuVwX", [["api_key", "hooks.slack.com/services/T024BE7LD/B01ABCD2EFG/aBcDeFgHiJkLmNoPqRsTuVwX"]]],
  ["Patient ID: 4471902, DOB 02/29/1988", [["medical_record", "4471902"], ["date_of_birth", "02/29/1988"]]],
];

/** Hand-written hard negatives: placeholders, documentation values, identifiers of things. */
const HANDWRITTEN_NEGATIVES: readonly string[] = [
  "Due date: 03/14/2025. Project kickoff was 2019-04-01.",
  "The SSN format is XXX-XX-XXXX, with dashes.",
  "Area = 3.14159 * r^2, so for r = 2.5 it's 19.63.",
  "Version 4.2.0.1 was released yesterday with bug fixes.",
  "AWS docs use AKIAIOSFODNN7EXAMPLE as the example access key ID.",
  "Put your token in GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx and rerun.",
  "Set STRIPE_KEY=sk_test_XXXXXXXXXXXXXXXXXXXXXXXX in your .env.example file.",
  "Error code 4024-0071-5336-9100 appears when the order ID is malformed.",
  "Use a password like correct-horse-battery-staple; length beats complexity.",
  "password = os.environ[\"DB_PASSWORD\"]",
  "The regex \\d{3}-\\d{2}-\\d{4} matches SSN-shaped strings.",
  "Our call center handles 1,200 calls a day with 35 agents.",
  "Room 1204, building 7, floor 12 - see you at 10:45.",
  "The invoice total of 1 234 567,89 EUR includes VAT.",
  "In the spreadsheet, cells A1:B20 contain the raw data.",
  "Train 4521 to Munich leaves from platform 14 at 16:22.",
  "The patient record feature exports PDFs; how do I add a watermark?",
  "My bank's app crashed while I was checking my account balance.",
  "What's the difference between a passport card and a passport book?",
  "He was born in 1985 and moved to Berlin in 2010.",
  "Lat/long 40.7128, -74.0060 is New York City.",
  "Semantic versioning: 2.0.0-rc.1 < 2.0.0 < 2.0.1.",
  "Use --max-old-space-size=4096 when running the build.",
  "The hash of the empty string is e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.",
  "My license plate was scratched; the number plate shop said 2 days.",
  "The product SKU is 0-12345-67890-5 on the barcode.",
  "We processed 4,532,015,112 events last month across 3 regions.",
  "ext. 4521, press 2 for billing, 3 for support",
  "The flight number is UA 1234 and the confirmation code is QX7P2K.",
  "My MacBook's serial is on the bottom case; where do I find the model number?",
];

function fillTemplate(r: Rng, template: string): { text: string; entities: PiiSample["entities"] } {
  const entities: PiiSample["entities"] = [];
  const text = template.replace(/\{(\w+)\}/g, (_, key: string) => {
    if (key === "name") return name(r);
    const f = FILL[key];
    if (!f) throw new Error(`unknown placeholder {${key}}`);
    const [value, type] = f(r);
    // PEM blocks: make the footer agree with the header
    const fixed = type === "private_key" ? value.replace("-----END $1", `-----END ${/BEGIN (.*?)PRIVATE/.exec(value)?.[1] ?? ""}`) : value;
    entities.push({ type, value: fixed });
    return fixed;
  });
  return { text, entities };
}

export function piiCorpus(): PiiSample[] {
  const r = v.rng(20240611);
  const out: PiiSample[] = [];
  // Three renditions of each positive template, with different values.
  for (let round = 0; round < 3; round++) {
    POSITIVE_TEMPLATES.forEach((t, i) => {
      const { text, entities } = fillTemplate(r, t);
      out.push({ id: `pii-pos-${i}-${round}`, text, entities });
    });
  }
  HANDWRITTEN_POSITIVES.forEach(([text, entities], i) => {
    out.push({ id: `pii-pos-hand-${i}`, text, entities: entities.map(([type, value]) => ({ type, value })) });
  });
  for (let round = 0; round < 4; round++) {
    NEGATIVE_TEMPLATES.forEach((t, i) => out.push({ id: `pii-neg-${i}-${round}`, text: t(r), entities: [] }));
  }
  HANDWRITTEN_NEGATIVES.forEach((text, i) => out.push({ id: `pii-neg-hand-${i}`, text, entities: [] }));
  // Identical negatives (templates without random parts) are kept once.
  const seen = new Set<string>();
  return out.filter((s) => (seen.has(s.text) ? false : (seen.add(s.text), true)));
}
