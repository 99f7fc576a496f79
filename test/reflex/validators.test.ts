import { describe, expect, it } from "vitest";
import {
  abaValid, base58CheckValid, bech32Valid, cardBrand, countryCodeLength, dateValid, ibanValid, ipv4Kind, ipv4Valid,
  ipv6Groups, itinValid, luhnValid, mod97, nanpValid, ssnValid,
} from "../../src/reflex/pii/validators.js";

describe("Luhn", () => {
  it("accepts valid card numbers and rejects one-digit changes", () => {
    for (const n of ["4539148803436467", "5425233430109903", "371449635398431", "6011111111111117", "4222222222222"]) {
      expect(luhnValid(n)).toBe(true);
      const changed = n.slice(0, -1) + String((Number(n.at(-1)) + 1) % 10);
      expect(luhnValid(changed)).toBe(false);
    }
  });
  it("rejects non-digits and empty input", () => {
    expect(luhnValid("")).toBe(false);
    expect(luhnValid("4539 1488")).toBe(false);
  });
  it("knows card brands by IIN and length", () => {
    expect(cardBrand("4539148803436467")).toBe("visa");
    expect(cardBrand("5425233430109903")).toBe("mastercard");
    expect(cardBrand("2221000000000009")).toBe("mastercard");
    expect(cardBrand("371449635398431")).toBe("amex");
    expect(cardBrand("6011111111111117")).toBe("discover");
    expect(cardBrand("3530111333300000")).toBe("jcb");
    expect(cardBrand("1234567812345678")).toBeUndefined();
  });
});

describe("IBAN mod-97", () => {
  it("validates published examples", () => {
    for (const iban of ["DE89370400440532013000", "GB29NWBK60161331926819", "FR7630006000011234567890189", "NL91ABNA0417164300", "CH9300762011623852957"]) {
      expect(ibanValid(iban)).toBe(true);
    }
  });
  it("rejects a wrong check digit, a wrong length and an unknown country", () => {
    expect(ibanValid("DE89370400440532013001")).toBe(false);
    expect(ibanValid("DE8937040044053201300")).toBe(false);
    expect(ibanValid("XX89370400440532013000")).toBe(false);
  });
  it("computes mod 97 piecewise over letters and digits", () => {
    expect(mod97("3704004405320130001314" + "89")).toBe(1);
    expect(mod97("abc")).toBe(-1);
  });
});

describe("ABA routing numbers", () => {
  it("accepts real routing numbers", () => {
    for (const n of ["021000021", "011000015", "121000358", "026009593", "111000025"]) expect(abaValid(n)).toBe(true);
  });
  it("rejects bad checksums, bad prefixes and bad lengths", () => {
    expect(abaValid("021000022")).toBe(false);
    expect(abaValid("991000021")).toBe(false); // checksum may pass but 99 is no Fed district
    expect(abaValid("02100002")).toBe(false);
  });
});

describe("SSN and ITIN rules", () => {
  it("applies area/group/serial rules", () => {
    expect(ssnValid("536", "22", "1234")).toBe(true);
    expect(ssnValid("000", "22", "1234")).toBe(false);
    expect(ssnValid("666", "22", "1234")).toBe(false);
    expect(ssnValid("900", "22", "1234")).toBe(false);
    expect(ssnValid("536", "00", "1234")).toBe(false);
    expect(ssnValid("536", "22", "0000")).toBe(false);
  });
  it("ITINs start with 9 and use the IRS group ranges", () => {
    expect(itinValid("912", "70", "1234")).toBe(true);
    expect(itinValid("943", "94", "0001")).toBe(true);
    expect(itinValid("912", "69", "1234")).toBe(false);
    expect(itinValid("912", "93", "1234")).toBe(false);
    expect(itinValid("812", "70", "1234")).toBe(false);
  });
});

describe("phone numbers", () => {
  it("NANP: area and exchange start with 2-9, no N11 area codes", () => {
    expect(nanpValid("4155552671")).toBe(true);
    expect(nanpValid("1235552671")).toBe(false);
    expect(nanpValid("4151552671")).toBe(false);
    expect(nanpValid("4115552671")).toBe(false);
  });
  it("recognises country calling codes of 1-3 digits", () => {
    expect(countryCodeLength("14155552671")).toBe(1);
    expect(countryCodeLength("442079460958")).toBe(2);
    expect(countryCodeLength("353871234567")).toBe(3);
    expect(countryCodeLength("999")).toBe(0);
  });
});

describe("network addresses", () => {
  it("IPv4 octets and kinds", () => {
    expect(ipv4Valid(["8", "8", "8", "8"])).toBe(true);
    expect(ipv4Valid(["256", "1", "1", "1"])).toBe(false);
    expect(ipv4Valid(["01", "1", "1", "1"])).toBe(false);
    expect(ipv4Kind(["10", "1", "2", "3"])).toBe("internal");
    expect(ipv4Kind(["192", "0", "2", "7"])).toBe("documentation");
    expect(ipv4Kind(["93", "184", "216", "34"])).toBe("public");
  });
  it("IPv6 with and without compression", () => {
    expect(ipv6Groups("2001:0db8:85a3:0000:0000:8a2e:0370:7334")).toBe(8);
    expect(ipv6Groups("2001:4860:4860::8888")).toBe(4);
    expect(ipv6Groups("::ffff:192.0.2.1")).toBe(3);
    expect(ipv6Groups("2001:db8::1::2")).toBe(-1);
    expect(ipv6Groups("12:30:45")).toBe(-1);
  });
});

describe("crypto addresses", () => {
  it("base58check (legacy bitcoin)", () => {
    expect(base58CheckValid("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")).toBe(true);
    expect(base58CheckValid("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy")).toBe(true);
    expect(base58CheckValid("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3")).toBe(false);
  });
  it("bech32 / bech32m (segwit bitcoin)", () => {
    expect(bech32Valid("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")).toBe(true);
    expect(bech32Valid("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5")).toBe(false);
    expect(bech32Valid("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx")).toBe(false); // testnet prefix
  });
});

describe("dates", () => {
  it("knows month lengths and leap years", () => {
    expect(dateValid(2024, 2, 29)).toBe(true);
    expect(dateValid(2023, 2, 29)).toBe(false);
    expect(dateValid(1900, 2, 29)).toBe(false);
    expect(dateValid(2000, 2, 29)).toBe(true);
    expect(dateValid(1990, 13, 1)).toBe(false);
  });
});
