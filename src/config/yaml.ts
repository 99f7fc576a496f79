import { createRequire } from "node:module";

type YamlModule = typeof import("yaml");
let yaml: YamlModule | null = null;

/**
 * YAML's parse, loaded on first use: most starts read no YAML file at all, and the library is some
 * seventy modules, a noticeable part of start-up time.
 */
export function parseYaml(text: string): unknown {
  yaml ??= createRequire(import.meta.url)("yaml") as YamlModule;
  return yaml.parse(text);
}
