/**
 * install / uninstall / status, over an injected runner and home directory, so they run the same in
 * a test (a fake runner, a temp home) and for real.
 */
import { existsSync } from "node:fs";
import { backendFor, type BackendContext, type ServiceBackend, type ServicePlatform, type ServiceState } from "./backends.js";
import type { CommandRunner } from "./command-runner.js";
import { launchSpec, type LaunchOptions } from "./launch.js";
import { describeStep, executePlan, renderPlan, type Step } from "./plan.js";

export interface ServiceContext extends BackendContext {
  platform: NodeJS.Platform | ServicePlatform;
  runner: CommandRunner;
}

export interface InstallResult {
  backend: ServiceBackend;
  steps: Step[];
  /** The steps as `--dry-run` prints them. */
  rendered: string;
  /** False for a dry run. */
  applied: boolean;
  /** Steps allowed to fail that did (the service manager unreachable while uninstalling). */
  failed: string[];
}

export async function installService(context: ServiceContext, launch: Omit<LaunchOptions, "home">, dryRun: boolean): Promise<InstallResult> {
  const backend = backendFor(context.platform, context);
  const steps = backend.installPlan(launchSpec({ ...launch, home: context.home }));
  if (!dryRun) {
    await executePlan(steps, context.runner, `${backend.failureHint} The file ${backend.file} is written: run \`lmx service install\` again once that works.`);
  }
  return { backend, steps, rendered: renderPlan(steps), applied: !dryRun, failed: [] };
}

export async function uninstallService(context: ServiceContext, dryRun: boolean): Promise<InstallResult & { wasInstalled: boolean }> {
  const backend = backendFor(context.platform, context);
  const wasInstalled = existsSync(backend.file);
  const steps = backend.uninstallPlan();
  const log = !dryRun && wasInstalled ? await executePlan(steps, context.runner, backend.failureHint) : [];
  const failed = log.filter((entry) => !entry.ok).map((entry) => `\`${describeStep(entry.step)}\` failed${entry.output ? `: ${entry.output.split("\n")[0]}` : ""}`);
  return { backend, steps, rendered: renderPlan(steps), applied: !dryRun && wasInstalled, wasInstalled, failed };
}

export async function serviceState(context: ServiceContext): Promise<{ backend: ServiceBackend; state: ServiceState }> {
  const backend = backendFor(context.platform, context);
  return { backend, state: await backend.state(context.runner) };
}
