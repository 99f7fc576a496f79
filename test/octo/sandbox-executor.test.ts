/**
 * The executor's ordinary behaviour (running, files, config, refusing to run unsandboxed) and the bwrap
 * command line it builds. The escape attempts are in sandbox-escape.test.ts.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildBwrapArgs, type BwrapPlan } from "../../src/octo/sandbox/bwrap-args.js";
import { createCapabilityIssuer } from "../../src/octo/sandbox/capability.js";
import { createSandboxExecutor, type SandboxExecutorConfig } from "../../src/octo/sandbox/executor.js";
import { readHostLayout } from "../../src/octo/sandbox/host-layout.js";
import { DEFAULT_LIMITS, tightenLimits } from "../../src/octo/sandbox/limits.js";

const isRoot = process.getuid?.() === 0;
const secret = randomBytes(32);
const issuer = createCapabilityIssuer({ secret });
const tmp = mkdtempSync(join(tmpdir(), "lmx-executor-"));
chmodSync(tmp, 0o711);
const workRoot = join(tmp, "work");
let counter = 0;

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function makeExecutor(extra: Partial<SandboxExecutorConfig> = {}) {
  return createSandboxExecutor({ workRoot, allowedBinaries: ["python3", "ls", "cat"], capabilitySecret: secret, ...extra });
}

async function newTask(executor = makeExecutor(), network = false) {
  const taskId = `task-${++counter}`;
  const dir = await executor.createWorkdir(taskId);
  const token = issuer.issue({ taskId, binaries: ["python3", "ls", "cat"], paths: ["."], ttlSeconds: 300, network });
  return { executor, taskId, dir, token };
}

const py = (code: string, ...args: string[]) => ["python3", "-c", code, ...args];

describe("bwrap command line", () => {
  const layout = readHostLayout();
  const plan: BwrapPlan = {
    mode: "userns",
    layout,
    workdir: "/srv/work/task-1",
    cwd: "src",
    network: false,
    env: { PATH: "/usr/bin", HOME: "/tmp" },
    limits: { ...DEFAULT_LIMITS, memoryBytes: 123456789, maxProcesses: 42, tmpBytes: 5_000_000 },
    runAs: { uid: 65534, gid: 65534 },
    statusFd: 3,
    command: ["/usr/bin/python3", "-c", "print(1)", "; rm -rf / --"],
  };
  const pairs = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));

  it("isolates by default: new namespaces, clean env, nothing of the host writable but the work dir", () => {
    const args = buildBwrapArgs(plan);
    const end = args.indexOf("--");
    const options = args.slice(0, end);
    for (const flag of ["--unshare-user", "--disable-userns", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--die-with-parent", "--new-session", "--clearenv"]) {
      expect(options).toContain(flag);
    }
    expect(pairs(options, "--bind")).toEqual(["/srv/work/task-1"]);
    expect(options.join(" ")).toContain("--bind /srv/work/task-1 /workspace");
    const mounted = [...pairs(options, "--ro-bind"), ...pairs(options, "--ro-bind-try")];
    expect(mounted).toContain("/usr");
    for (const path of mounted) expect(path).not.toMatch(/^\/(root|home|work|var|srv|etc\/(shadow|passwd|gshadow|sudoers|ssh))/);
    expect(pairs(options, "--remount-ro")).toEqual(["/dev", "/"]);
    expect(pairs(options, "--size")).toEqual(["5000000", "5000000"]);
    expect(pairs(options, "--chdir")).toEqual(["/workspace/src"]);
    expect(pairs(options, "--json-status-fd")).toEqual(["3"]);
    // After "--": prlimit with the limits, then the command exactly as given.
    const command = args.slice(end + 1);
    expect(command[0]).toBe(layout.prlimitPath);
    expect(command).toContain("--as=123456789");
    expect(command).toContain("--nproc=42");
    expect(command.slice(-4)).toEqual(["/usr/bin/python3", "-c", "print(1)", "; rm -rf / --"]);
  });

  it("shares the network and its /etc files only when granted", () => {
    const args = buildBwrapArgs({ ...plan, network: true });
    expect(args).not.toContain("--unshare-net");
    expect(pairs(args, "--ro-bind-try")).toContain("/etc/resolv.conf");
    expect(pairs(buildBwrapArgs(plan), "--ro-bind-try")).not.toContain("/etc/resolv.conf");
  });

  it("in privileged mode drops capabilities and switches user with setpriv", () => {
    const args = buildBwrapArgs({ ...plan, mode: "privileged" });
    expect(args).not.toContain("--unshare-user");
    expect(args.join(" ")).toContain("--cap-drop ALL --cap-add CAP_SETUID --cap-add CAP_SETGID --cap-add CAP_DAC_READ_SEARCH");
    const command = args.slice(args.indexOf("--") + 1);
    expect(command.slice(0, 7)).toEqual([layout.setprivPath, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--no-new-privs", "--"]);
  });
});

describe("limits", () => {
  it("lets a run tighten the configured limits, never loosen them", () => {
    const base = { ...DEFAULT_LIMITS, timeoutMs: 1_000 };
    expect(tightenLimits(base, { timeoutMs: 60_000, maxOutputBytes: 10 })).toMatchObject({ timeoutMs: 1_000, maxOutputBytes: 10 });
    expect(() => tightenLimits(base, { maxProcesses: 1 })).toThrow();
  });
});

describe("sandbox executor", () => {
  it("runs a command in the task's work dir with stdin, and reports exit code and both streams", async () => {
    const { executor, taskId, token } = await newTask();
    mkdirSync(join(workRoot, taskId, "sub"));
    const result = await executor.run({
      taskId,
      token,
      cwd: "sub",
      stdin: "line one\nline two\n",
      argv: py("import os, sys\nprint(os.getcwd(), sys.stdin.read().count('\\n'))\nprint('oops', file=sys.stderr)\nsys.exit(3)"),
    });
    expect(result).toMatchObject({ exitCode: 3, signal: null, stdout: "/workspace/sub 2\n", stderr: "oops\n", truncated: false, timedOut: false, sandboxed: true });
    expect(result.durationMs).toBeGreaterThan(0);
    // Killed by a signal inside the sandbox: reported as a shell would, 128 + signal.
    const killed = await executor.run({ taskId, token, argv: py("import os, signal; os.kill(os.getpid(), signal.SIGKILL)") });
    expect(killed.exitCode).toBe(137);
  });

  it("stages files in and reads results out, owned by the sandbox user", async () => {
    const { executor, taskId, token, dir } = await newTask();
    await executor.writeFile({ taskId, token, path: "in/data.txt", data: "41" });
    const result = await executor.run({ taskId, token, argv: py("n = int(open('in/data.txt').read()); open('in/data.txt', 'a').write('!'); open('out.txt', 'w').write(str(n + 1))") });
    expect(result.exitCode).toBe(0);
    expect((await executor.readFile({ taskId, token, path: "out.txt" })).toString()).toBe("42");
    expect((await executor.readFile({ taskId, token, path: "in/data.txt" })).toString()).toBe("41!");
    await expect(executor.readFile({ taskId, token, path: "out.txt", maxBytes: 1 })).rejects.toMatchObject({ code: "file_too_large" });
    await expect(executor.readFile({ taskId, token, path: "missing.txt" })).rejects.toMatchObject({ status: 404 });
    if (isRoot) {
      expect(statSync(dir)).toMatchObject({ uid: 65534, gid: 65534 });
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(statSync(workRoot).mode & 0o777).toBe(0o711);
      expect(statSync(join(dir, "in", "data.txt")).uid).toBe(65534);
    }
  });

  it("refuses file access while a run of the task is in progress", async () => {
    const { executor, taskId, token } = await newTask();
    const running = executor.run({ taskId, token, argv: py("import time; time.sleep(0.5)") });
    await new Promise((r) => setTimeout(r, 100));
    await expect(executor.readFile({ taskId, token, path: "x" })).rejects.toMatchObject({ status: 409, code: "task_busy" });
    await expect(executor.removeWorkdir(taskId)).rejects.toMatchObject({ code: "task_busy" });
    expect((await running).exitCode).toBe(0);
    await executor.writeFile({ taskId, token, path: "x", data: "now fine" });
  });

  it("caps a run at the configured timeout even when the run asks for more", async () => {
    const { taskId, token, executor } = await newTask(makeExecutor({ limits: { timeoutMs: 800 } }));
    const result = await executor.run({ taskId, token, argv: py("import time; time.sleep(30)"), limits: { timeoutMs: 60_000 } });
    expect(result.timedOut).toBe(true);
    expect(result.durationMs).toBeLessThan(3_000);
  });

  it("reports bwrap's own failures as sandbox_failed, not as the command's exit code", async () => {
    const { executor, taskId, token, dir } = await newTask();
    // On the host this link resolves inside the work dir; inside the sandbox its absolute target does
    // not exist, so bwrap cannot chdir there and never runs the command.
    mkdirSync(join(dir, "sub"));
    symlinkSync(join(dir, "sub"), join(dir, "host-absolute"));
    await expect(executor.run({ taskId, token, argv: ["ls"], cwd: "host-absolute" })).rejects.toMatchObject({
      status: 500,
      code: "sandbox_failed",
      message: expect.stringContaining("chdir"),
    });
  });

  it("needs a work dir, and removes it", async () => {
    const executor = makeExecutor();
    const token = issuer.issue({ taskId: "never-created", binaries: ["ls"], paths: ["."], ttlSeconds: 60 });
    await expect(executor.run({ taskId: "never-created", token, argv: ["ls"] })).rejects.toMatchObject({ status: 404, code: "workdir_not_found" });
    const task = await newTask(executor);
    await executor.removeWorkdir(task.taskId);
    await expect(executor.run({ taskId: task.taskId, token: task.token, argv: ["ls"] })).rejects.toMatchObject({ code: "workdir_not_found" });
    await expect(executor.createWorkdir("../evil")).rejects.toMatchObject({ code: "invalid_task_id" });
  });

  it("validates its config", () => {
    expect(() => makeExecutor({ workRoot: "relative/dir" })).toThrow(/absolute/);
    expect(() => makeExecutor({ allowedBinaries: ["no-such-binary-here"] })).toThrow(/not found/);
    expect(() => makeExecutor({ allowedBinaries: ["sh"] })).toThrow(/shell/);
    expect(() => makeExecutor({ allowedBinaries: ["bash"] })).toThrow(/shell/);
    expect(() => makeExecutor({ allowedBinaries: ["sh"], allowShells: true })).not.toThrow();
    expect(() => makeExecutor({ runAs: { uid: 0, gid: 0 } })).toThrow(/runAs/);
    expect(() => makeExecutor({ capabilitySecret: Buffer.alloc(8) })).toThrow(/32 bytes/);
    expect(() => makeExecutor({ limits: { maxProcesses: 1 } })).toThrow();
    // A binary outside what the sandbox mounts would not exist in there.
    const outside = join(tmp, "tool");
    writeFileSync(outside, "#!/bin/sh\n", { mode: 0o755 });
    expect(() => makeExecutor({ allowedBinaries: [outside] })).toThrow(/outside what the sandbox mounts/);
  });

  it.runIf(isRoot)("says clearly when the sandbox user cannot reach the work root", async () => {
    const hidden = mkdtempSync(join(tmpdir(), "lmx-hidden-")); // 0700, root's
    try {
      const executor = makeExecutor({ workRoot: join(hidden, "work") });
      await expect(executor.createWorkdir("t")).rejects.toThrow(/cannot reach the work root/);
    } finally {
      rmSync(hidden, { recursive: true, force: true });
    }
  });
});

describe("without a working sandbox", () => {
  const noSandbox = { bwrapPath: "/nonexistent/bwrap" };

  it("refuses to run unless allowUnsandboxed is set", async () => {
    const { executor, taskId, token } = await newTask(makeExecutor(noSandbox));
    const detection = await executor.detect();
    expect(detection.available).toBe(false);
    await expect(executor.run({ taskId, token, argv: py("open('ran', 'w')") })).rejects.toMatchObject({
      status: 503,
      code: "sandbox_unavailable",
      message: expect.stringContaining("allowUnsandboxed"),
    });
    // Files are still reachable: they never involve running anything.
    await expect(executor.readFile({ taskId, token, path: "ran" })).rejects.toMatchObject({ status: 404 });
  });

  it("runs with limits but no isolation when allowUnsandboxed is true, and says so", async () => {
    process.env.LMX_UNSANDBOXED_SECRET = "should-not-leak";
    try {
      const executor = makeExecutor({ ...noSandbox, allowUnsandboxed: true, limits: { timeoutMs: 1_000 } });
      const { taskId, token, dir } = await newTask(executor);
      const result = await executor.run({ taskId, token, argv: py("import os, json; print(json.dumps([os.getcwd(), os.getuid(), sorted(os.environ)]))") });
      expect(result.sandboxed).toBe(false);
      const [cwd, uid, env] = JSON.parse(result.stdout);
      expect(cwd).toBe(dir);
      if (isRoot) expect(uid).toBe(65534);
      expect(env).toEqual(["HOME", "LANG", "PATH"]);
      const slow = await executor.run({ taskId, token, argv: py("import time; time.sleep(30)") });
      expect(slow.timedOut).toBe(true);
    } finally {
      delete process.env.LMX_UNSANDBOXED_SECRET;
    }
  });
});
