// A whole LMX server in its own process (real runners, real models), for tests that SIGKILL it.
// Usage: lmx-child.ts CONFIG_JSON. Prints "listening <url>" once its start-up models are loaded.
import { PassThrough } from "node:stream";
import { parseConfig } from "../../../src/config/load.js";
import { createLmx } from "../../../src/lmx.js";

const config = parseConfig(JSON.parse(process.argv[2]));
const logs = new PassThrough();
logs.resume();
const lmx = await createLmx(config, { logDestination: logs });
const { url, modelsLoaded } = await lmx.start();
await modelsLoaded;
console.log(`listening ${url}`);
