/** The arms, built once per Octo instance from its config and services. */
import type { OctoConfig } from "../config.js";
import type { Retriever } from "../retriever/index.js";
import type { TaskSandbox } from "../task-sandbox.js";
import { createCoderArm } from "./coder.js";
import { createExecutorArm } from "./executor.js";
import { createGuardianArm, type Guardian } from "./guardian.js";
import { createJudgeArm } from "./judge.js";
import { createPlannerArm } from "./planner.js";
import { createRetrieverArm } from "./retriever.js";
import type { Arm, ArmDescriptor, ArmId, ModelArmId } from "./types.js";
import { createWriterArm } from "./writer.js";

export interface ArmRegistry {
  get(id: string): Arm | undefined;
  ids(): ArmId[];
  describeAll(): Promise<ArmDescriptor[]>;
  /** Arms the planner may give steps to, as it describes them: available ones only. */
  plannable(): Promise<Array<{ id: string; description: string }>>;
}

export interface ArmDeps {
  config: () => OctoConfig;
  sandbox: TaskSandbox;
  retriever: () => Retriever;
  guardian: Guardian;
}

export function createArms(deps: ArmDeps): ArmRegistry {
  const model = (arm: ModelArmId) => () => {
    const settings = deps.config().arms[arm];
    return { model: settings.model, upstream: settings.upstream };
  };
  const arms: Arm[] = [];
  const registry: ArmRegistry = {
    get: (id) => arms.find((arm) => arm.id === id),
    ids: () => arms.map((arm) => arm.id),
    describeAll: () => Promise.all(arms.map((arm) => arm.describe())),
    async plannable() {
      const all = await registry.describeAll();
      return all.filter((d) => d.plannable && d.available).map((d) => ({ id: d.id, description: d.description }));
    },
  };
  arms.push(
    createPlannerArm({ plannableArms: () => registry.plannable(), maxSteps: () => deps.config().max_plan_steps, model: model("planner") }) as Arm,
    createWriterArm({ model: model("writer") }) as Arm,
    createCoderArm({ sandbox: deps.sandbox, model: model("coder"), maxCheckRounds: () => deps.config().coder.max_check_rounds }) as Arm,
    createRetrieverArm({ retriever: deps.retriever, model: model("retriever") }) as Arm,
    createExecutorArm({ sandbox: deps.sandbox, model: model("executor") }) as Arm,
    createJudgeArm({ model: model("judge") }) as Arm,
    createGuardianArm(deps.guardian) as Arm,
  );
  return registry;
}

export type { Arm, ArmContext, ArmDescriptor, ArmId, ArmOutput, StepInput } from "./types.js";
export type { Guardian } from "./guardian.js";
