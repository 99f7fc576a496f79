// Plan validation and repair: what a model may write (unknown arms, bad ids, dangling, forward and
// cyclic dependencies, too many steps) and what the orchestrator runs instead.
import { describe, expect, it } from "vitest";
import { checkPlan, readySteps, terminalSteps } from "../../src/octo/plan.js";

const options = { arms: ["writer", "coder", "executor"], maxSteps: 4, fallbackArm: "writer" };
const step = (id: string, depends_on: string[] = [], arm = "writer") => ({ id, arm, action: `do ${id}`, acceptance_criteria: [], depends_on });

describe("checkPlan", () => {
  it("accepts a valid DAG as it is", () => {
    const result = checkPlan({ steps: [step("a"), step("b", ["a"]), step("c", ["a", "b"], "coder")] }, options);
    expect(result.errors).toEqual([]);
    expect(result.repairs).toEqual([]);
    expect(result.steps.map((s) => [s.id, s.depends_on])).toEqual([
      ["a", []],
      ["b", ["a"]],
      ["c", ["a", "b"]],
    ]);
  });

  it("reports an empty plan, which cannot be repaired", () => {
    expect(checkPlan({ steps: [] }, options)).toEqual({ errors: ["The plan has no steps."], repairs: [], steps: [] });
    expect(checkPlan(null, options).steps).toEqual([]);
    expect(checkPlan({ steps: [{ id: "x", arm: "writer", action: "  " }] }, options).steps).toEqual([]);
  });

  it("gives steps of unknown arms to the fallback arm", () => {
    const result = checkPlan({ steps: [step("a", [], "painter")] }, options);
    expect(result.errors[0]).toMatch(/unknown arm 'painter'/);
    expect(result.steps[0].arm).toBe("writer");
  });

  it("renames bad and duplicate ids, keeping references to the first of a duplicate", () => {
    const result = checkPlan({ steps: [step("a"), step("a"), step("bad id!", ["a"])] }, options);
    expect(result.steps.map((s) => s.id)).toEqual(["a", "s2", "s3"]);
    expect(result.steps[2].depends_on).toEqual(["a"]);
    expect(result.errors.join(" ")).toMatch(/used twice/);
    expect(result.errors.join(" ")).toMatch(/not 1-32 letters/);
  });

  it("drops dependencies on unknown steps and on itself", () => {
    const result = checkPlan({ steps: [step("a", ["a", "ghost"])] }, options);
    expect(result.steps[0].depends_on).toEqual([]);
    expect(result.repairs).toHaveLength(2);
  });

  it("reorders forward dependencies so that every step comes after what it needs", () => {
    const result = checkPlan({ steps: [step("report", ["data"]), step("data")] }, options);
    expect(result.errors).toEqual(["Step 'report' depends on 'data', which comes after it."]);
    expect(result.steps.map((s) => s.id)).toEqual(["data", "report"]);
    expect(result.steps[1].depends_on).toEqual(["data"]);
  });

  it("breaks cycles by dropping the blocked step's edges", () => {
    const result = checkPlan({ steps: [step("a", ["c"]), step("b", ["a"]), step("c", ["b"])] }, options);
    expect(result.errors.join(" ")).toMatch(/cycle/);
    expect(result.steps.map((s) => [s.id, s.depends_on])).toEqual([
      ["a", []],
      ["b", ["a"]],
      ["c", ["b"]],
    ]);
  });

  it("cuts plans longer than the limit, and dependencies on what was cut", () => {
    const result = checkPlan({ steps: [step("a"), step("b"), step("c"), step("d"), step("e"), step("f", ["e"])] }, { ...options, maxSteps: 4 });
    expect(result.steps.map((s) => s.id)).toEqual(["a", "b", "c", "d"]);
    expect(result.errors.join(" ")).toMatch(/more than 4 steps/);
  });

  it("keeps only string criteria and a true swarm flag", () => {
    const result = checkPlan({ steps: [{ id: "a", arm: "writer", action: "x", acceptance_criteria: ["ok", 3, " "], swarm: "yes" }] }, options);
    expect(result.steps[0]).toEqual({ id: "a", arm: "writer", action: "x", acceptance_criteria: ["ok"], depends_on: [], swarm: false });
  });
});

describe("DAG helpers", () => {
  const steps = [step("a"), step("b"), step("c", ["a", "b"]), step("d", ["c"])];
  it("finds ready steps and the terminal ones", () => {
    expect(readySteps(steps, new Set(), new Set()).map((s) => s.id)).toEqual(["a", "b"]);
    expect(readySteps(steps, new Set(["a"]), new Set(["a", "b"])).map((s) => s.id)).toEqual([]);
    expect(readySteps(steps, new Set(["a", "b"]), new Set(["a", "b"])).map((s) => s.id)).toEqual(["c"]);
    expect(terminalSteps(steps).map((s) => s.id)).toEqual(["d"]);
  });
});
