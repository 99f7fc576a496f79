/**
 * A document's format when the caller gives none: from its source's file extension, so ingesting
 * `README.md` or `src/app.ts` chunks them as markdown or code without the client saying so.
 */
import type { DocumentFormat } from "./chunking.js";

const MARKDOWN_EXTENSIONS = new Set(["md", "markdown", "mdx", "mkd"]);

const CODE_LANGUAGES: Record<string, string> = {
  ts: "typescript", tsx: "typescript", mts: "typescript", cts: "typescript",
  js: "javascript", jsx: "javascript", mjs: "javascript", cjs: "javascript",
  py: "python", rs: "rust", go: "go", java: "java", kt: "kotlin", kts: "kotlin", scala: "scala",
  c: "c", h: "c", cc: "cpp", cpp: "cpp", cxx: "cpp", hpp: "cpp", cs: "csharp", swift: "swift",
  rb: "ruby", php: "php", lua: "lua", sh: "shell", bash: "shell", zsh: "shell", sql: "sql",
  r: "r", jl: "julia", ex: "elixir", exs: "elixir", erl: "erlang", hs: "haskell", ml: "ocaml",
  zig: "zig", dart: "dart", vue: "vue", svelte: "svelte",
};

export interface ResolvedFormat {
  format: DocumentFormat;
  language?: string;
}

export function resolveFormat(source: string | undefined, format?: DocumentFormat, language?: string): ResolvedFormat {
  const extension = source ? /\.([A-Za-z0-9]+)$/.exec(source.split(/[?#]/)[0])?.[1]?.toLowerCase() : undefined;
  const inferredLanguage = extension ? CODE_LANGUAGES[extension] : undefined;
  const resolved: DocumentFormat =
    format ??
    (extension && MARKDOWN_EXTENSIONS.has(extension) ? "markdown" : inferredLanguage || language ? "code" : "text");
  const lang = language ?? (resolved === "code" ? inferredLanguage : undefined);
  return lang === undefined ? { format: resolved } : { format: resolved, language: lang };
}
