/**
 * Plan validation and repair (pure). A plan is a list of steps whose `depends_on` name other steps;
 * it must be a DAG over known arms. What a model writes may not be: unknown arms, duplicate or empty
 * ids, dependencies on steps that do not exist, on later steps (forward), or in a cycle. `checkPlan`
 * reports each fault as an error (the planner re-prompts once with them) and returns a repaired plan
 * whose steps are in an order where every dependency comes first.
 */
import type { PlanStep } from "./contract.js";

export interface PlanCheckOptions {
  /** Arms steps may be given to. */
  arms: readonly string[];
  maxSteps: number;
  /** Arm that steps naming an unknown one get on repair. */
  fallbackArm: string;
}

export interface PlanCheck {
  /** Faults of the plan as written (empty: it was valid). */
  errors: string[];
  /** What the repair changed. */
  repairs: string[];
  /** The repaired plan, dependencies before dependents; empty when nothing was usable. */
  steps: PlanStep[];
}

const STEP_ID = /^[A-Za-z0-9_-]{1,32}$/;

export function checkPlan(raw: unknown, options: PlanCheckOptions): PlanCheck {
  const errors: string[] = [];
  const repairs: string[] = [];
  const fault = (error: string, repair: string) => {
    errors.push(error);
    repairs.push(repair);
  };
  const list = Array.isArray((raw as { steps?: unknown } | null)?.steps) ? ((raw as { steps: unknown[] }).steps as unknown[]) : null;
  if (!list || list.length === 0) return { errors: ["The plan has no steps."], repairs: [], steps: [] };

  // Pass 1: each step on its own: action, id, arm, criteria.
  interface Draft extends PlanStep {
    rawDeps: string[];
  }
  const drafts: Draft[] = [];
  const byOriginalId = new Map<string, string>();
  const taken = new Set<string>();
  for (const [index, item] of list.entries()) {
    const step = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
    const label = typeof step.id === "string" && step.id ? `'${step.id}'` : `#${index + 1}`;
    const action = typeof step.action === "string" ? step.action.trim() : "";
    if (!action) {
      fault(`Step ${label} has no action.`, `dropped step ${label}, which had no action`);
      continue;
    }
    if (drafts.length >= options.maxSteps) {
      fault(`The plan has more than ${options.maxSteps} steps.`, `dropped step ${label} and the ones after it (more than ${options.maxSteps} steps)`);
      break;
    }
    const original = typeof step.id === "string" ? step.id.trim() : "";
    let id = STEP_ID.test(original) ? original : "";
    if (!id || taken.has(id)) {
      const fresh = uniqueId(`s${drafts.length + 1}`, taken);
      if (original) {
        fault(
          taken.has(original) ? `Step id '${original}' is used twice.` : `Step id '${original}' is not 1-32 letters, digits, '_' or '-'.`,
          `renamed step '${original}' to '${fresh}'`,
        );
      }
      id = fresh;
    }
    taken.add(id);
    if (original && !byOriginalId.has(original)) byOriginalId.set(original, id);
    let arm = typeof step.arm === "string" ? step.arm : "";
    if (!options.arms.includes(arm)) {
      fault(`Step '${id}' names an unknown arm '${arm}' (known: ${options.arms.join(", ")}).`, `gave step '${id}' to the ${options.fallbackArm} arm instead of '${arm}'`);
      arm = options.fallbackArm;
    }
    const criteria = Array.isArray(step.acceptance_criteria)
      ? step.acceptance_criteria.filter((c): c is string => typeof c === "string" && c.trim() !== "").map((c) => c.trim())
      : [];
    const rawDeps = Array.isArray(step.depends_on) ? step.depends_on.filter((d): d is string => typeof d === "string").map((d) => d.trim()) : [];
    drafts.push({ id, arm, action, acceptance_criteria: criteria, depends_on: [], swarm: step.swarm === true, rawDeps });
  }
  if (drafts.length === 0) return { errors, repairs, steps: [] };

  // Pass 2: dependencies by id; unknown and self references dropped, forward ones noted.
  const position = new Map(drafts.map((d, i) => [d.id, i]));
  for (const [index, draft] of drafts.entries()) {
    const deps = new Set<string>();
    for (const name of draft.rawDeps) {
      const target = byOriginalId.get(name) ?? (position.has(name) ? name : undefined);
      if (target === undefined) {
        fault(`Step '${draft.id}' depends on an unknown step '${name}'.`, `dropped the dependency of '${draft.id}' on unknown '${name}'`);
      } else if (target === draft.id) {
        fault(`Step '${draft.id}' depends on itself.`, `dropped the dependency of '${draft.id}' on itself`);
      } else {
        if ((position.get(target) as number) > index) errors.push(`Step '${draft.id}' depends on '${target}', which comes after it.`);
        deps.add(target);
      }
    }
    draft.depends_on = [...deps];
  }

  // Pass 3: order so dependencies come first, keeping the written order where it allows; a cycle is
  // broken by dropping the blocked step's edges into the unplaced rest.
  const placed = new Set<string>();
  const ordered: PlanStep[] = [];
  const remaining = [...drafts];
  let reordered = false;
  while (remaining.length > 0) {
    let next = remaining.findIndex((d) => d.depends_on.every((dep) => placed.has(dep)));
    if (next === -1) {
      next = 0;
      const blocked = remaining[0];
      const dropped = blocked.depends_on.filter((dep) => !placed.has(dep));
      fault(`Steps ${remaining.map((d) => `'${d.id}'`).join(", ")} depend on each other in a cycle.`, `dropped the dependencies of '${blocked.id}' on ${dropped.map((d) => `'${d}'`).join(", ")} to break a cycle`);
      blocked.depends_on = blocked.depends_on.filter((dep) => placed.has(dep));
    }
    if (next !== 0) reordered = true;
    const [step] = remaining.splice(next, 1);
    placed.add(step.id);
    const { rawDeps: _unused, ...clean } = step;
    ordered.push(clean);
  }
  if (reordered) repairs.push(`reordered the steps so that each comes after its dependencies: ${ordered.map((s) => s.id).join(", ")}`);
  return { errors, repairs, steps: ordered };
}

function uniqueId(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}_${n}`)) return `${base}_${n}`;
}

/** Steps whose dependencies are all done and that are not done, running or failed themselves. */
export function readySteps(steps: readonly PlanStep[], done: ReadonlySet<string>, started: ReadonlySet<string>): PlanStep[] {
  return steps.filter((s) => !done.has(s.id) && !started.has(s.id) && s.depends_on.every((d) => done.has(d)));
}

/** Steps no other step depends on: their outputs make the final answer. */
export function terminalSteps(steps: readonly PlanStep[]): PlanStep[] {
  const needed = new Set(steps.flatMap((s) => s.depends_on));
  return steps.filter((s) => !needed.has(s.id));
}
