import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createCapabilityIssuer } from "../../src/octo/sandbox/capability.js";

const secret = randomBytes(32);

function issuerAt(nowMs: { value: number }) {
  return createCapabilityIssuer({ secret, now: () => nowMs.value });
}

describe("capability tokens", () => {
  const clock = { value: Date.UTC(2030, 0, 1) };
  const issuer = issuerAt(clock);
  const grant = { taskId: "task-a", binaries: ["python3", "ls"], paths: ["src", "out/"], ttlSeconds: 60 };

  it("round-trips the grant into claims", () => {
    const token = issuer.issue({ ...grant, network: true });
    expect(token).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const claims = issuer.verify(token, { taskId: "task-a", binary: "python3", paths: ["src/main.py", "out"] });
    expect(claims).toMatchObject({
      taskId: "task-a",
      binaries: ["python3", "ls"],
      paths: ["src", "out"],
      network: true,
      expiresAt: claims.issuedAt + 60,
    });
    expect(issuer.verify(issuer.issue(grant), { taskId: "task-a" }).network).toBe(false);
  });

  it("makes every token distinct, even for equal grants", () => {
    expect(issuer.issue(grant)).not.toBe(issuer.issue(grant));
  });

  it("refuses a token issued for another task", () => {
    const token = issuer.issue(grant);
    expect(() => issuer.verify(token, { taskId: "task-b" })).toThrow(
      expect.objectContaining({ status: 403, type: "permission_error", code: "capability_denied" }),
    );
  });

  it("refuses binaries and paths the token does not cover", () => {
    const token = issuer.issue(grant);
    expect(() => issuer.verify(token, { taskId: "task-a", binary: "node" })).toThrow(expect.objectContaining({ code: "capability_denied" }));
    expect(() => issuer.verify(token, { taskId: "task-a", paths: ["srcx/a"] })).toThrow(expect.objectContaining({ code: "capability_denied" }));
    expect(() => issuer.verify(token, { taskId: "task-a", paths: ["."] })).toThrow(expect.objectContaining({ code: "capability_denied" }));
    expect(() => issuer.verify(token, { taskId: "task-a", paths: ["src/../../etc"] })).toThrow(expect.objectContaining({ code: "path_escape" }));
    const all = issuer.issue({ ...grant, paths: ["."] });
    expect(issuer.verify(all, { taskId: "task-a", paths: [".", "a/b/c"] }).paths).toEqual(["."]);
  });

  it("refuses an expired token, from the expiry second on", () => {
    const local = { value: clock.value };
    const timed = issuerAt(local);
    const token = timed.issue({ ...grant, ttlSeconds: 5 });
    local.value += 4_999;
    expect(timed.verify(token, { taskId: "task-a" }).taskId).toBe("task-a");
    local.value += 1;
    expect(() => timed.verify(token, { taskId: "task-a" })).toThrow(
      expect.objectContaining({ status: 403, code: "capability_expired" }),
    );
  });

  it("refuses tampered, forged and malformed tokens", () => {
    const token = issuer.issue(grant);
    const [v, payload, mac] = token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    // Widen the grant and keep the old signature.
    const widened = Buffer.from(JSON.stringify({ ...claims, bin: ["sh"], exp: claims.exp + 1e6 })).toString("base64url");
    const flip = (s: string) => (s[0] === "A" ? "B" : "A") + s.slice(1);
    const otherSecret = createCapabilityIssuer({ secret: randomBytes(32), now: () => clock.value }).issue(grant);
    for (const bad of [
      `${v}.${widened}.${mac}`,
      `${v}.${payload}.${flip(mac)}`,
      `${v}.${payload}.${mac.slice(0, -2)}`,
      `${v}.${payload}.`,
      `v2.${payload}.${mac}`,
      `${v}.${payload}`,
      otherSecret,
      "",
      "not a token",
      "x".repeat(10_000),
    ]) {
      expect(() => issuer.verify(bad, { taskId: "task-a" }), bad.slice(0, 40)).toThrow(
        expect.objectContaining({ status: 403, code: "capability_invalid" }),
      );
    }
  });

  it("refuses to issue nonsense", () => {
    expect(() => createCapabilityIssuer({ secret: Buffer.alloc(16) })).toThrow(/at least 32 bytes/);
    expect(() => issuer.issue({ ...grant, taskId: "../etc" })).toThrow(/Invalid task id/);
    expect(() => issuer.issue({ ...grant, binaries: ["/bin/sh"] })).toThrow(/Invalid binary name/);
    expect(() => issuer.issue({ ...grant, paths: ["/etc"] })).toThrow(expect.objectContaining({ code: "path_escape" }));
    expect(() => issuer.issue({ ...grant, paths: ["../x"] })).toThrow(expect.objectContaining({ code: "path_escape" }));
    expect(() => issuer.issue({ ...grant, paths: [] })).toThrow(/at least one path/);
    expect(() => issuer.issue({ ...grant, ttlSeconds: 0 })).toThrow(/ttlSeconds/);
    expect(() => issuer.issue({ ...grant, ttlSeconds: 10 * 24 * 3600 })).toThrow(/ttlSeconds/);
  });
});
