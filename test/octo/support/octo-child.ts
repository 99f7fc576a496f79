// A separate process running Octo on a scripted, slow model over a given database, so a test can
// SIGKILL it mid-task. Usage: octo-child.ts DB_PATH. It submits one task with a three-step chain
// (s1 → s2 → s3; s2 takes a minute) and prints "task <id>" and then every task event as a JSON line.
import { pino } from "pino";
import { taskContractSchema } from "../../../src/octo/contract.js";
import { octoConfigSchema } from "../../../src/octo/config.js";
import { createOcto, type OctoDeps } from "../../../src/octo/index.js";
import { createScriptedLlm } from "../../../src/octo/llm/scripted.js";
import { armModels, armOf, judgeAnswer, lastUser, noSandbox } from "./scripted-octo.js";

const dbPath = process.argv[2];
const config = octoConfigSchema.parse({ db_path: dbPath, arms: armModels(), lease_seconds: 60 });
const llm = createScriptedLlm((request) => {
  switch (armOf(request)) {
    case "planner":
      return {
        json: {
          steps: [
            { id: "s1", arm: "writer", action: "S1: gather", acceptance_criteria: [], depends_on: [], swarm: false },
            { id: "s2", arm: "writer", action: "S2: think slowly", acceptance_criteria: [], depends_on: ["s1"], swarm: false },
            { id: "s3", arm: "writer", action: "S3: conclude", acceptance_criteria: [], depends_on: ["s2"], swarm: false },
          ],
        },
      };
    case "judge":
      return judgeAnswer(request);
    default: {
      const action = lastUser(request).split("\n")[0];
      return { text: `child did ${action}`, delayMs: action.startsWith("S2") ? 60_000 : 50 };
    }
  }
});
const deps: OctoDeps = {
  config: () => config,
  router: undefined as unknown as OctoDeps["router"],
  models: undefined as unknown as OctoDeps["models"],
  events: undefined as unknown as OctoDeps["events"],
  log: pino({ level: "silent" }),
  llm,
  sandbox: noSandbox,
};
const octo = await createOcto(deps);
const { task } = await octo.tasks.submit(taskContractSchema.parse({ goal: "A three-step chain", acceptance_criteria: [] }), "crash-test");
console.log(`task ${task.id}`);
octo.tasks.subscribe(task.id, (event) => console.log(JSON.stringify(event)));
