/**
 * Reversible redaction. A vault lives for one request: the prompt goes to the model with "[EMAIL_1]"
 * in place of the address, and the model's answer is restored for the caller, so the model never sees
 * the data and the caller never sees the tokens. Same value → same token within a vault, so the model
 * can still tell two people apart.
 */

export interface VaultEntry {
  token: string;
  label: string;
  value: string;
}

export interface StreamRestorer {
  /** Restore what can be restored; a possibly incomplete token at the end is held back. */
  push(chunk: string): string;
  /** Whatever was held back (restored if it turned out to be a token). */
  flush(): string;
}

export interface TokenVault {
  /** The token standing for `value` (issued on first use). `label` is e.g. "EMAIL". */
  tokenFor(label: string, value: string): string;
  /** Replace every token this vault issued; anything else that looks like a token is left alone. */
  restore(text: string): string;
  /** For streamed output, where a token may be split across chunks. */
  createRestorer(): StreamRestorer;
  entries(): VaultEntry[];
  readonly size: number;
}

const TOKEN = /\[([A-Z][A-Z0-9_]{0,40})_(\d{1,6})\]/g;
/** A suffix that could still grow into a token: "[", "[EM", "[EMAIL_1". */
const PARTIAL_TOKEN = /\[[A-Z0-9_]{0,48}$/;

export function createTokenVault(): TokenVault {
  const byToken = new Map<string, VaultEntry>();
  const byValue = new Map<string, string>();
  const counters = new Map<string, number>();

  const restore = (text: string): string =>
    text.indexOf("[") < 0 ? text : text.replace(TOKEN, (tok: string) => byToken.get(tok)?.value ?? tok);

  return {
    tokenFor(label, value) {
      const clean = label.toUpperCase().replace(/[^A-Z0-9_]/g, "_").replace(/^[^A-Z]+/, "") || "PII";
      const key = `${clean}\u0000${value}`;
      const existing = byValue.get(key);
      if (existing) return existing;
      const n = (counters.get(clean) ?? 0) + 1;
      counters.set(clean, n);
      const token = `[${clean}_${n}]`;
      byValue.set(key, token);
      byToken.set(token, { token, label: clean, value });
      return token;
    },
    restore,
    createRestorer() {
      let held = "";
      return {
        push(chunk) {
          const buf = held + chunk;
          const m = PARTIAL_TOKEN.exec(buf);
          if (m) {
            held = buf.slice(m.index);
            return restore(buf.slice(0, m.index));
          }
          held = "";
          return restore(buf);
        },
        flush() {
          const rest = held;
          held = "";
          return restore(rest);
        },
      };
    },
    entries: () => [...byToken.values()].map((e) => ({ ...e })),
    get size() {
      return byToken.size;
    },
  };
}
