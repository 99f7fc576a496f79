#!/usr/bin/env node
import { Command } from "commander";
import { packageVersion } from "../version.js";
import { registerBench } from "./bench.js";
import { registerLoad } from "./load.js";
import { registerLs } from "./ls.js";
import { registerPs } from "./ps.js";
import { registerPull } from "./pull.js";
import { registerRm } from "./rm.js";
import { registerRun } from "./run.js";
import { registerServe } from "./serve.js";
import { registerService } from "./service.js";
import { registerShow } from "./show.js";
import { registerTask } from "./task.js";
import { registerUnload } from "./unload.js";

/** The `lmx` command. Each subcommand lives in its own file and registers itself here. */
const program = new Command()
  .name("lmx")
  .description("Local LLM server (OpenAI-compatible, over llama.cpp) and agent orchestrator")
  .version(packageVersion(), "-v, --version")
  // One line for a usage error (the full help buries it); `--help` is one flag away.
  .showHelpAfterError("(run with --help for usage)");

registerServe(program);
registerRun(program);
registerPull(program);
registerLs(program);
registerPs(program);
registerLoad(program);
registerUnload(program);
registerRm(program);
registerShow(program);
registerBench(program);
registerService(program);
registerTask(program);

await program.parseAsync(process.argv);
