import { describe, expect, it } from "vitest";
import { StopStringMatcher } from "../../src/engine/runner/text-stream.js";

describe("StopStringMatcher", () => {
  it("holds back a possible stop string until it completes or cannot", () => {
    const matcher = new StopStringMatcher(["END", "\n\n"]);
    expect(matcher.push("Hello E")).toEqual({ emit: "Hello ", matched: null, after: "" });
    expect(matcher.push("N")).toEqual({ emit: "", matched: null, after: "" });
    expect(matcher.push("X more")).toEqual({ emit: "ENX more", matched: null, after: "" });
    expect(matcher.push(" done\n")).toEqual({ emit: " done", matched: null, after: "" });
    expect(matcher.push("\nrest")).toEqual({ emit: "", matched: "\n\n", after: "rest" });
  });

  it("finds a stop string split across many pushes, and the earliest of several", () => {
    const matcher = new StopStringMatcher(["</answer>", "ans"]);
    let out = "";
    let matched = null;
    for (const piece of ["The ", "</", "ans", "wer>"]) {
      const result = matcher.push(piece);
      out += result.emit;
      if (result.matched) {
        matched = result.matched;
        break;
      }
    }
    expect(out).toBe("The </");
    expect(matched).toBe("ans");
  });

  it("passes everything through without stop strings, and flushes what it held", () => {
    expect(new StopStringMatcher([]).push("abc")).toEqual({ emit: "abc", matched: null, after: "" });
    const matcher = new StopStringMatcher(["xyz"]);
    expect(matcher.push("abcx").emit).toBe("abc");
    expect(matcher.flush()).toBe("x");
  });
});
