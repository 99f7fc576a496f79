/** Code in model answers: fenced blocks, languages, and how each language is run or checked. */

export interface CodeBlock {
  language: string | null;
  code: string;
}

/** Fenced blocks (``` or ~~~, with an optional language tag), in order. An unclosed last fence runs to the end. */
export function extractCodeBlocks(text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const fence = /^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*\n/gm;
  let match: RegExpExecArray | null;
  while ((match = fence.exec(text)) !== null) {
    const marker = match[1];
    const start = match.index + match[0].length;
    const close = new RegExp(`^[ \\t]*${marker[0] === "`" ? "`" : "~"}{${marker.length},}[ \\t]*$`, "m");
    const rest = text.slice(start);
    const end = close.exec(rest);
    const code = end ? rest.slice(0, end.index) : rest;
    blocks.push({ language: normalizeLanguage(match[2]) , code: code.replace(/\n$/, "") });
    if (!end) break;
    fence.lastIndex = start + end.index + end[0].length;
  }
  return blocks;
}

const ALIASES: Record<string, string> = {
  py: "python", python3: "python", python: "python",
  js: "javascript", javascript: "javascript", node: "javascript", mjs: "javascript",
  ts: "typescript", typescript: "typescript",
  sh: "bash", bash: "bash", shell: "bash", zsh: "bash",
  rb: "ruby", ruby: "ruby", go: "go", golang: "go", rs: "rust", rust: "rust", java: "java",
  c: "c", cpp: "cpp", "c++": "cpp", cs: "csharp", csharp: "csharp", sql: "sql", json: "json", yaml: "yaml", yml: "yaml",
};

export function normalizeLanguage(tag: string | null | undefined): string | null {
  if (!tag) return null;
  return ALIASES[tag.toLowerCase()] ?? tag.toLowerCase();
}

/** The language a request names in words ("write a Python script…"), if any. */
export function languageIn(text: string): string | null {
  const lower = text.toLowerCase();
  for (const [pattern, language] of [
    [/\bpython\b|\.py\b/, "python"],
    [/\btypescript\b|\.ts\b/, "typescript"],
    [/\bjavascript\b|\bnode(\.js)?\b|\.js\b/, "javascript"],
    [/\bbash\b|\bshell script\b|\.sh\b/, "bash"],
    [/\bruby\b/, "ruby"],
    [/\bgolang\b|\bgo program\b/, "go"],
    [/\brust\b/, "rust"],
    [/\bjava\b/, "java"],
    [/\bsql\b/, "sql"],
  ] as const) {
    if (pattern.test(lower)) return language;
  }
  return null;
}

export interface Runner {
  /** The file the code is written to. */
  file: string;
  /** Runs the file. */
  run: string[];
  /** Checks it without running it (syntax, types). */
  check: string[];
  binary: string;
}

/** How a language runs in the sandbox, when its interpreter is on the allow-list. */
export function runnerFor(language: string | null, allowed: readonly string[]): Runner | null {
  const has = (binary: string) => allowed.includes(binary);
  switch (language) {
    case "python":
      return has("python3") ? { file: "main.py", run: ["python3", "main.py"], check: ["python3", "-m", "py_compile", "main.py"], binary: "python3" } : null;
    case "javascript":
      return has("node") ? { file: "main.js", run: ["node", "main.js"], check: ["node", "--check", "main.js"], binary: "node" } : null;
    case "bash":
      if (has("bash")) return { file: "main.sh", run: ["bash", "main.sh"], check: ["bash", "-n", "main.sh"], binary: "bash" };
      return has("sh") ? { file: "main.sh", run: ["sh", "main.sh"], check: ["sh", "-n", "main.sh"], binary: "sh" } : null;
    default:
      return null;
  }
}
