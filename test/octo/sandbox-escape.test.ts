/**
 * The escape suite: real commands in real bubblewrap sandboxes, each trying one way out and asserting
 * what actually happened (the file was not read, the connection was refused, the processes are gone),
 * not just that nothing threw. Runs once per sandbox mode that works on this host: userns always
 * (it is what production uses), privileged too when the tests run as root.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCapabilityIssuer } from "../../src/octo/sandbox/capability.js";
import { detectSandbox } from "../../src/octo/sandbox/detect.js";
import { createSandboxExecutor, type SandboxExecutor, type SandboxExecutorConfig } from "../../src/octo/sandbox/executor.js";
import type { SandboxMode } from "../../src/octo/sandbox/bwrap-args.js";
import type { CapabilityGrant } from "../../src/octo/sandbox/capability.js";

const isRoot = process.getuid?.() === 0;
const candidateModes: SandboxMode[] = isRoot ? ["userns", "privileged"] : ["userns"];
const detections = await Promise.all(candidateModes.map((mode) => detectSandbox({ mode })));
const workingModes = candidateModes.filter((_, i) => detections[i]!.available);
const repoDir = resolve(import.meta.dirname, "../..");

const secret = randomBytes(32);
const issuer = createCapabilityIssuer({ secret });
const HOST_SECRET_ENV = `LMX_ESCAPE_SECRET_${randomBytes(4).toString("hex")}`;
const HOST_SECRET_VALUE = `hunter2-${randomBytes(8).toString("hex")}`;

// Made at load time: the describe blocks below build their executors while the file is collected.
const tmp = mkdtempSync(join(tmpdir(), "lmx-escape-"));
// mkdtemp makes it 0700; the sandbox user must be able to reach its work dir through it.
chmodSync(tmp, 0o711);
const workRoot = join(tmp, "work");
const outsideSecret = join(tmp, "outside-secret.txt");
writeFileSync(outsideSecret, "TOP SECRET OUTSIDE THE WORK DIR", { mode: 0o644 });
let taskCounter = 0;

beforeAll(() => {
  process.env[HOST_SECRET_ENV] = HOST_SECRET_VALUE;
});

afterAll(() => {
  delete process.env[HOST_SECRET_ENV];
  rmSync(tmp, { recursive: true, force: true });
});

it("some sandbox mode works on this host", () => {
  // Fails loudly (rather than skipping the whole suite) when bubblewrap is missing or broken.
  expect(workingModes, JSON.stringify(detections.map((d) => (d.available ? d.mode : d.reason)))).not.toEqual([]);
});

const py = (code: string, ...args: string[]) => ["python3", "-c", code, ...args];

/** Processes on the host whose command line contains `marker` (children forked from a run keep it). */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker)) pids.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return pids;
}

async function expectNoProcessesWith(marker: string): Promise<void> {
  // The kernel tears a pid namespace down asynchronously; give it a moment, then insist.
  for (let i = 0; i < 50 && processesWith(marker).length > 0; i++) await sleep(20);
  expect(processesWith(marker)).toEqual([]);
}

describe.each(workingModes)("sandbox escape suite (%s mode)", (mode) => {
  function makeExecutor(extra: Partial<SandboxExecutorConfig> = {}): SandboxExecutor {
    return createSandboxExecutor({
      workRoot,
      allowedBinaries: ["python3", "ls", "cat"],
      capabilitySecret: secret,
      mode,
      limits: { timeoutMs: 15_000 },
      ...extra,
    });
  }
  const executor = makeExecutor();

  async function newTask(grant: Partial<CapabilityGrant> = {}, ex: SandboxExecutor = executor) {
    const taskId = `${mode}-${++taskCounter}`;
    const dir = await ex.createWorkdir(taskId);
    const token = issuer.issue({ taskId, binaries: ["python3", "ls", "cat", "sh"], paths: ["."], ttlSeconds: 300, ...grant });
    return { taskId, dir, token };
  }

  describe("argv only", () => {
    it("passes shell metacharacters through literally", async () => {
      const { taskId, dir, token } = await newTask();
      const hostile = ["; rm -rf /workspace", "$(touch pwned-subst)", "`touch pwned-tick`", "| cat /etc/passwd", "&& id", "> clobbered", "*", "$HOME", "'\"\\"];
      writeFileSync(join(dir, "keep.txt"), "still here");
      const result = await executor.run({ taskId, token, argv: py("import sys, json; print(json.dumps(sys.argv[1:]))", ...hostile) });
      expect(result.exitCode).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual(hostile);
      // Not even a program that does no parsing of its own sees a shell: ls gets the strings as file names.
      const ls = await executor.run({ taskId, token, argv: ["ls", "--", "; id", "$(id)", "`id`"] });
      expect(ls.exitCode).toBe(2);
      expect(ls.stderr).toContain("cannot access '; id'");
      expect(ls.stderr).toContain("cannot access '$(id)'");
      expect(ls.stdout + ls.stderr).not.toMatch(/uid=\d+/);
      expect(readdirSync(dir).sort()).toEqual(["keep.txt"]);
    });

    it("refuses binaries that are not on the allow-list, however they are spelled", async () => {
      const { taskId, token } = await newTask({ binaries: ["python3", "sh", "curl", "bash"] });
      for (const argv0 of ["sh", "bash", "/bin/sh", "curl", "./python3", "../../usr/bin/python3", "/usr/bin/../bin/sh", "python3 -c"]) {
        await expect(executor.run({ taskId, token, argv: [argv0, "-c", "id"] }), argv0).rejects.toMatchObject({
          status: 403,
          code: "binary_not_allowed",
        });
      }
      // The resolved absolute path of an allowed binary is the same binary.
      const ok = await executor.run({ taskId, token, argv: ["/usr/bin/python3", "-c", "print('ok')"] });
      expect(ok.stdout).toBe("ok\n");
    });
  });

  describe("capability tokens", () => {
    it("refuses a token for another task, another binary, expired, tampered or forged, before running anything", async () => {
      const a = await newTask({ binaries: ["python3"] });
      const b = await newTask({ binaries: ["python3", "ls"] });
      const touch = py("open('ran.txt','w').write('x')");
      // B's token, used for A's task.
      await expect(executor.run({ taskId: a.taskId, token: b.token, argv: touch })).rejects.toMatchObject({ status: 403, code: "capability_denied" });
      // A's token does not list ls.
      await expect(executor.run({ taskId: a.taskId, token: a.token, argv: ["ls"] })).rejects.toMatchObject({ status: 403, code: "capability_denied" });
      // Expired: the executor's clock is past the token's expiry.
      const later = makeExecutor({ now: () => Date.now() + 301_000 });
      await expect(later.run({ taskId: a.taskId, token: a.token, argv: touch })).rejects.toMatchObject({ status: 403, code: "capability_expired" });
      // Tampered: B's claims (which list ls) under A's signature.
      const [v, , macA] = a.token.split(".");
      const [, payloadB] = b.token.split(".");
      await expect(executor.run({ taskId: b.taskId, token: `${v}.${payloadB}.${macA}`, argv: ["ls"] })).rejects.toMatchObject({
        status: 403,
        code: "capability_invalid",
      });
      // Forged: signed with another secret.
      const forged = createCapabilityIssuer({ secret: randomBytes(32) }).issue({ taskId: a.taskId, binaries: ["python3"], paths: ["."], ttlSeconds: 60 });
      await expect(executor.run({ taskId: a.taskId, token: forged, argv: touch })).rejects.toMatchObject({ status: 403, code: "capability_invalid" });
      // The file helpers check the token the same way.
      await expect(executor.writeFile({ taskId: a.taskId, token: b.token, path: "x", data: "x" })).rejects.toMatchObject({ code: "capability_denied" });
      await expect(executor.readFile({ taskId: a.taskId, token: forged, path: "x" })).rejects.toMatchObject({ code: "capability_invalid" });
      expect(readdirSync(a.dir)).toEqual([]);
      expect(readdirSync(b.dir)).toEqual([]);
    });

    it("confines a token to its paths", async () => {
      const { taskId, token, dir } = await newTask({ paths: ["out"] });
      await executor.writeFile({ taskId, token, path: "out/a.txt", data: "fine" });
      await expect(executor.writeFile({ taskId, token, path: "src/a.txt", data: "no" })).rejects.toMatchObject({ code: "capability_denied" });
      await expect(executor.run({ taskId, token, argv: ["ls"] })).rejects.toMatchObject({ code: "capability_denied" });
      const run = await executor.run({ taskId, token, argv: ["ls"], cwd: "out" });
      expect(run.stdout).toBe("a.txt\n");
      expect(existsSync(join(dir, "src"))).toBe(false);
    });
  });

  describe("the work dir", () => {
    it("refuses ../ and absolute paths in cwd and the file helpers", async () => {
      const { taskId, token } = await newTask();
      for (const cwd of ["..", "../..", "a/../../..", "/etc", "/"]) {
        await expect(executor.run({ taskId, token, argv: ["ls"], cwd }), cwd).rejects.toMatchObject({ status: 403, code: "path_escape" });
      }
      for (const path of ["../escape.txt", "../../outside-secret.txt", "/etc/passwd", join(tmp, "outside-secret.txt"), "a/../../x"]) {
        await expect(executor.writeFile({ taskId, token, path, data: "pwned" }), path).rejects.toMatchObject({ code: "path_escape" });
        await expect(executor.readFile({ taskId, token, path }), path).rejects.toMatchObject({ code: "path_escape" });
      }
      expect(readFileSync(outsideSecret, "utf8")).toBe("TOP SECRET OUTSIDE THE WORK DIR");
      expect(existsSync(join(workRoot, "escape.txt"))).toBe(false);
    });

    it("refuses symlinks pointing out of the work dir, whoever made them", async () => {
      const { taskId, token, dir } = await newTask();
      // Made by the sandboxed command: a link to the secret file and one to the directory holding it.
      const made = await executor.run({
        taskId,
        token,
        argv: py("import os, sys; os.symlink(sys.argv[1], 'leak'); os.symlink(sys.argv[2], 'outdir'); os.symlink('/etc', 'etc'); os.mkfifo('fifo')", outsideSecret, tmp),
      });
      expect(made.exitCode).toBe(0);
      // Inside the sandbox the links dangle: their targets are not mounted there.
      const inside = await executor.run({ taskId, token, argv: ["cat", "leak"] });
      expect(inside.exitCode).not.toBe(0);
      expect(inside.stdout).not.toContain("TOP SECRET");
      expect(inside.stderr).toContain("No such file or directory");
      // On the host, the helpers refuse to follow them.
      await expect(executor.readFile({ taskId, token, path: "leak" })).rejects.toMatchObject({ code: "path_escape" });
      await expect(executor.readFile({ taskId, token, path: "outdir/outside-secret.txt" })).rejects.toMatchObject({ code: "path_escape" });
      await expect(executor.writeFile({ taskId, token, path: "leak", data: "overwritten" })).rejects.toMatchObject({ code: "path_escape" });
      await expect(executor.writeFile({ taskId, token, path: "outdir/new.txt", data: "x" })).rejects.toMatchObject({ code: "path_escape" });
      await expect(executor.writeFile({ taskId, token, path: "etc/passwd", data: "root::0:0::/:/bin/sh" })).rejects.toMatchObject({ code: "path_escape" });
      await expect(executor.run({ taskId, token, argv: ["ls"], cwd: "outdir" })).rejects.toMatchObject({ code: "path_escape" });
      // A FIFO would block a reader forever; it is refused at once instead.
      await expect(executor.readFile({ taskId, token, path: "fifo" })).rejects.toMatchObject({ status: 400 });
      expect(readFileSync(outsideSecret, "utf8")).toBe("TOP SECRET OUTSIDE THE WORK DIR");
      expect(existsSync(join(tmp, "new.txt"))).toBe(false);
      // Links that stay inside are fine.
      writeFileSync(join(dir, "real.txt"), "inside");
      symlinkSync("real.txt", join(dir, "alias"));
      expect((await executor.readFile({ taskId, token, path: "alias" })).toString()).toBe("inside");
    });

    it("gives the command no way to reach other tasks' dirs", async () => {
      const other = await newTask();
      writeFileSync(join(other.dir, "private.txt"), "other task's data");
      const { taskId, token } = await newTask();
      const result = await executor.run({
        taskId,
        token,
        argv: py(
          "import os, sys\nfor p in ['/workspace/..', '/workspace/../' + sys.argv[1], sys.argv[2]]:\n  try: print(p, sorted(os.listdir(p)))\n  except OSError as e: print(p, type(e).__name__)",
          other.taskId,
          other.dir,
        ),
      });
      expect(result.stdout).not.toContain("private.txt");
      expect(result.stdout).toContain(`${other.dir} FileNotFoundError`);
    });
  });

  describe("host environment and files", () => {
    it("does not leak the server's environment", async () => {
      const { taskId, token } = await newTask();
      const result = await executor.run({
        taskId,
        token,
        // /proc/1 is the sandbox's init (bwrap): unreadable in privileged mode, where it runs as root.
        argv: py("import os, json\nprint(json.dumps(dict(os.environ)))\ntry: print(open('/proc/1/environ', 'rb').read())\nexcept OSError as e: print(e)"),
      });
      expect(result.exitCode).toBe(0);
      const env = JSON.parse(result.stdout.split("\n")[0]!);
      expect(Object.keys(env).sort()).toEqual(["HOME", "LANG", "PATH", "PWD", "TMPDIR"]);
      expect(result.stdout).not.toContain(HOST_SECRET_VALUE);
      expect(result.stdout).not.toContain(HOST_SECRET_ENV);
      // Extra variables only from the allow-list, and never the loader's.
      await expect(executor.run({ taskId, token, argv: ["ls"], env: { [HOST_SECRET_ENV]: "x" } })).rejects.toMatchObject({ code: "env_not_allowed" });
      expect(() => makeExecutor({ allowedEnv: ["LD_PRELOAD"] })).toThrow(/LD_/);
      const withEnv = makeExecutor({ allowedEnv: ["GREETING"] });
      const greeted = await withEnv.run({ taskId, token, argv: py("import os; print(os.environ['GREETING'])"), env: { GREETING: "$(id) hi" } });
      expect(greeted.stdout).toBe("$(id) hi\n");
    });

    it("cannot read host secrets: /etc/shadow, /root, the repo, a file next to the work dir", async () => {
      const { taskId, token } = await newTask();
      const targets = ["/etc/shadow", "/etc/passwd", "/root", "/root/.ssh", "/home", repoDir, join(repoDir, "package.json"), outsideSecret, tmp, "/work", "/sys", "/var"];
      const result = await executor.run({
        taskId,
        token,
        argv: py(
          [
            "import os, sys",
            "for p in sys.argv[1:]:",
            "  try:",
            "    print(p, 'DIR', os.listdir(p)) if os.path.isdir(p) else print(p, 'READ', open(p).read()[:80])",
            "  except OSError as e:",
            "    print(p, type(e).__name__)",
          ].join("\n"),
          ...targets,
        ),
      });
      expect(result.exitCode).toBe(0);
      for (const target of targets) expect(result.stdout).toContain(`${target} FileNotFoundError`);
      expect(result.stdout).not.toContain("TOP SECRET");
      expect(result.stdout).not.toContain("root:");
    });

    it("sees only its own processes, with no capabilities, as an unprivileged user", async () => {
      const { taskId, token } = await newTask();
      const result = await executor.run({
        taskId,
        token,
        argv: py(
          "import os; print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit())); print(os.getuid(), os.getgid(), os.getgroups()); print([l for l in open('/proc/self/status') if l.startswith(('CapEff', 'NoNewPrivs'))])",
        ),
      });
      const [pids, ids, caps] = result.stdout.trim().split("\n");
      expect(JSON.parse(pids!).length).toBeLessThanOrEqual(3);
      expect(JSON.parse(pids!)).not.toContain(process.pid);
      expect(ids).not.toMatch(/^0 /);
      expect(caps).toContain("CapEff:\\t0000000000000000");
      expect(caps).toContain("NoNewPrivs:\\t1");
    });

    it("does not hand down file descriptors the server inherited", async () => {
      // A server that inherited an fd without close-on-exec (here: the secret file at fd 100, as a
      // supervisor's pipe or a shell's saved fd would be) runs a command; inside, fd 100 must not be
      // that file. (Node marks low inherited fds close-on-exec at startup, but not high ones.)
      const { taskId, token } = await newTask();
      const script = join(tmp, `fd-leak-${mode}.mts`);
      writeFileSync(
        script,
        [
          `import { readFileSync } from "node:fs";`,
          `import { createSandboxExecutor } from ${JSON.stringify(join(repoDir, "src/octo/sandbox/executor.ts"))};`,
          // Check the premise: fd 100 really is inherited without close-on-exec.
          `const flags = parseInt(/flags:\\s+([0-7]+)/.exec(readFileSync("/proc/self/fdinfo/100", "utf8"))![1]!, 8);`,
          `if (flags & 0o2000000) throw new Error("fd 100 is close-on-exec: the test proves nothing");`,
          `const ex = createSandboxExecutor({ workRoot: ${JSON.stringify(workRoot)}, allowedBinaries: ["python3"], capabilitySecret: Buffer.from(${JSON.stringify(secret.toString("hex"))}, "hex"), mode: ${JSON.stringify(mode)} });`,
          `const r = await ex.run({ taskId: ${JSON.stringify(taskId)}, token: ${JSON.stringify(token)}, argv: ["python3", "-c", "import os\\ntry: print(os.readlink('/proc/self/fd/100'), os.read(100, 100))\\nexcept OSError as e: print('closed', e)"] });`,
          "process.stdout.write(r.stdout);",
        ].join("\n"),
      );
      const launcher = "import os, sys\nfd = os.open(sys.argv[1], os.O_RDONLY)\nos.dup2(fd, 100, inheritable=True)\nos.execv(sys.argv[2], sys.argv[2:])";
      const child = spawn("/usr/bin/python3", ["-c", launcher, outsideSecret, process.execPath, "--import", "tsx", script], {
        cwd: repoDir,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err += d));
      const code = await new Promise((done) => child.on("close", done));
      expect(code, err).toBe(0);
      expect(out).not.toContain("TOP SECRET");
      expect(out.trim()).toMatch(/^(\/dev\/null b''|closed .*)$/);
    });
  });

  describe("network", () => {
    let server: Server;
    let port: number;
    beforeAll(async () => {
      server = createServer((socket) => socket.end("hello from the host\n"));
      await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((done) => server.close(() => done())));

    const connect = (host: string, p: number, send = "") =>
      py(
        "import socket, sys\ntry:\n  s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)\n  s.sendall(sys.argv[3].encode())\n  print('CONNECTED', s.recv(100))\nexcept OSError as e:\n  print('FAILED', e.errno, type(e).__name__)",
        host,
        String(p),
        send,
      );

    it("has no network by default: not the host's loopback services, not the outside", async () => {
      const { taskId, token } = await newTask();
      const local = await executor.run({ taskId, token, argv: connect("127.0.0.1", port) });
      expect(local.stdout).toMatch(/^FAILED 111 ConnectionRefusedError/);
      // An external address is not even routable: the namespace has only its own loopback.
      const external = await executor.run({ taskId, token, argv: connect("1.1.1.1", 53) });
      expect(external.stdout).toMatch(/^FAILED 101 /);
      const dns = await executor.run({ taskId, token, argv: py("import socket\ntry: print(socket.gethostbyname('registry.npmjs.org'))\nexcept OSError as e: print('FAILED', type(e).__name__)") });
      expect(dns.stdout).toMatch(/^FAILED/);
    });

    it("cannot reach Redis on the host's 127.0.0.1:6379", async (ctx) => {
      const reachable = await new Promise<boolean>((done) => {
        const socket = createConnection({ host: "127.0.0.1", port: 6379, timeout: 1000 }, () => {
          socket.destroy();
          done(true);
        });
        socket.on("error", () => done(false));
        socket.on("timeout", () => done(false));
      });
      if (!reachable) ctx.skip();
      const { taskId, token } = await newTask();
      const denied = await executor.run({ taskId, token, argv: connect("127.0.0.1", 6379, "PING\r\n") });
      expect(denied.stdout).toMatch(/^FAILED 111 /);
      const granted = await newTask({ network: true });
      const allowed = await executor.run({ taskId: granted.taskId, token: granted.token, argv: connect("127.0.0.1", 6379, "PING\r\n") });
      expect(allowed.stdout).toContain("CONNECTED b'+PONG");
    });

    it("shares the host's network only when the token grants it", async () => {
      const { taskId, token } = await newTask({ network: true });
      const result = await executor.run({ taskId, token, argv: connect("127.0.0.1", port) });
      expect(result.stdout).toBe("CONNECTED b'hello from the host\\n'\n");
    });
  });

  describe("limits", () => {
    it("contains a fork bomb and leaves no process behind", async () => {
      const shells = makeExecutor({ allowedBinaries: ["sh", "python3"], allowShells: true, limits: { timeoutMs: 3_000, maxProcesses: 32 } });
      const { taskId, token } = await newTask({}, shells);
      const marker = `bomb-${randomBytes(6).toString("hex")}`;
      const started = Date.now();
      // The classic: each call pipes two more into the background. The parent sh returns at once, the
      // sandbox's init sees its child exit and the namespace (with the whole bomb) goes down with it.
      const classic = await shells.run({ taskId, token, argv: ["sh", "-c", "f() { f | f & }; f; sleep 1", marker] });
      // 2 when the bomb has used up the process limit before `sleep` forks ("Cannot fork").
      expect([0, 2]).toContain(classic.exitCode);
      expect(classic.timedOut).toBe(false);
      await expectNoProcessesWith(marker);
      // A bomb that never stops trying is killed at the timeout.
      const relentless = await shells.run({
        taskId,
        token,
        argv: py("import os, time\nwhile True:\n  try: os.fork()\n  except OSError: time.sleep(0.01)", marker),
      });
      expect(relentless.timedOut).toBe(true);
      expect(relentless.signal).toBe("SIGKILL");
      expect(relentless.durationMs).toBeLessThan(3_000 + 2_000);
      await expectNoProcessesWith(marker);
      expect(Date.now() - started).toBeLessThan(10_000);
      // The host can still fork.
      expect(spawnSync("true").status).toBe(0);
    });

    it("caps the number of processes at maxProcesses", async () => {
      const limited = makeExecutor({ limits: { maxProcesses: 16 } });
      const { taskId, token } = await newTask({}, limited);
      const result = await limited.run({
        taskId,
        token,
        argv: py(
          "import os, time\nok = fail = 0\nfor _ in range(100):\n  try:\n    if os.fork() == 0:\n      time.sleep(5); os._exit(0)\n    ok += 1\n  except OSError:\n    fail += 1\nprint(ok, fail, flush=True)\nos._exit(0)",
        ),
      });
      const [ok, fail] = result.stdout.trim().split(" ").map(Number);
      expect(ok).toBeLessThan(16);
      expect(ok).toBeGreaterThan(0);
      expect(fail).toBe(100 - ok!);
      // Its children were still sleeping when it exited: they went down with the namespace.
      expect(result.durationMs).toBeLessThan(4_000);
    });

    it("cuts runaway output at maxOutputBytes and kills the command", async () => {
      const limited = makeExecutor({ limits: { maxOutputBytes: 100_000, timeoutMs: 10_000 } });
      const { taskId, token } = await newTask({}, limited);
      const result = await limited.run({ taskId, token, argv: py("import sys\nwhile True: sys.stdout.write('x' * 65536); sys.stderr.write('e' * 100)") });
      expect(result.truncated).toBe(true);
      expect(result.timedOut).toBe(false);
      expect(result.signal).toBe("SIGKILL");
      expect(result.stdout.length + result.stderr.length).toBe(100_000);
      expect(result.durationMs).toBeLessThan(5_000);
      const zeros = await limited.run({ taskId, token, argv: ["cat", "/dev/zero"] });
      expect(zeros.truncated).toBe(true);
      expect(Buffer.byteLength(zeros.stdout)).toBeLessThanOrEqual(100_000 * 3);
    });

    it("kills a sleeping command at the timeout, including what it daemonized", async () => {
      const limited = makeExecutor({ limits: { timeoutMs: 1_000 } });
      const { taskId, token, dir } = await newTask({}, limited);
      // The child leaves the process group and session and ignores SIGTERM/SIGHUP: only the pid namespace catches it.
      const result = await limited.run({
        taskId,
        token,
        argv: py(
          "import os, signal, time\nif os.fork() == 0:\n  os.setsid(); signal.signal(signal.SIGTERM, signal.SIG_IGN); signal.signal(signal.SIGHUP, signal.SIG_IGN)\n  time.sleep(2); open('daemon-survived', 'w').write('x'); os._exit(0)\ntime.sleep(60)",
        ),
      });
      expect(result.timedOut).toBe(true);
      expect(result.signal).toBe("SIGKILL");
      expect(result.exitCode).toBeNull();
      expect(result.durationMs).toBeGreaterThanOrEqual(1_000);
      expect(result.durationMs).toBeLessThan(3_000);
      await sleep(2_500);
      expect(existsSync(join(dir, "daemon-survived"))).toBe(false);
    });

    it("takes a daemonized child down when the command exits normally", async () => {
      const { taskId, token, dir } = await newTask();
      const result = await executor.run({
        taskId,
        token,
        argv: py("import os, time\nif os.fork() == 0:\n  os.setsid(); time.sleep(1.5); open('orphan-survived', 'w').write('x'); os._exit(0)\nprint('parent done')"),
      });
      expect(result.stdout).toBe("parent done\n");
      expect(result.durationMs).toBeLessThan(1_500);
      await sleep(2_000);
      expect(existsSync(join(dir, "orphan-survived"))).toBe(false);
    });

    it("kills the run when the abort signal fires", async () => {
      const { taskId, token, dir } = await newTask();
      const controller = new AbortController();
      const started = Date.now();
      setTimeout(() => controller.abort(), 300);
      await expect(
        executor.run({ taskId, token, argv: py("import time; time.sleep(2); open('after-abort', 'w').write('x')"), signal: controller.signal }),
      ).rejects.toMatchObject({ name: "AbortError" });
      expect(Date.now() - started).toBeLessThan(1_500);
      await sleep(2_200);
      expect(existsSync(join(dir, "after-abort"))).toBe(false);
      // Already aborted: nothing starts.
      await expect(executor.run({ taskId, token, argv: py("open('never', 'w')"), signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });
      expect(existsSync(join(dir, "never"))).toBe(false);
    });

    it("kills a CPU hog at its CPU-time limit, before the wall-clock timeout", async () => {
      const limited = makeExecutor({ limits: { cpuSeconds: 1, timeoutMs: 10_000 } });
      const { taskId, token } = await newTask({}, limited);
      const result = await limited.run({ taskId, token, argv: py("while True: pass") });
      expect(result.timedOut).toBe(false);
      // SIGKILL (hard limit) or SIGXCPU (soft), as 128 + signal.
      expect([128 + 9, 128 + 24]).toContain(result.exitCode);
      expect(result.durationMs).toBeLessThan(5_000);
    });

    it("caps memory, file size and the scratch tmpfs; the root is read-only", async () => {
      const limited = makeExecutor({ limits: { memoryBytes: 256 * 1024 * 1024, maxFileBytes: 3 * 1024 * 1024, tmpBytes: 2 * 1024 * 1024 } });
      const { taskId, token, dir } = await newTask({}, limited);
      const memory = await limited.run({ taskId, token, argv: py("b = bytearray(1024 * 1024 * 1024); print('allocated')") });
      expect(memory.stdout).not.toContain("allocated");
      expect(memory.stderr).toContain("MemoryError");
      // Shared anonymous memory is not data, but it is address space.
      const shared = await limited.run({ taskId, token, argv: py("import mmap; m = mmap.mmap(-1, 1 << 30); print('mapped')") });
      expect(shared.stdout).not.toContain("mapped");
      // Python ignores SIGXFSZ, so it sees EFBIG; other programs are killed by the signal (exit 128 + 25).
      const bigFile = await limited.run({ taskId, token, argv: py("open('big', 'wb').write(b'x' * (4 * 1024 * 1024))") });
      expect(bigFile.exitCode).toBe(1);
      expect(bigFile.stderr).toContain("[Errno 27] File too large");
      expect(readFileSync(join(dir, "big")).length).toBeLessThanOrEqual(3 * 1024 * 1024);
      const places = await limited.run({
        taskId,
        token,
        argv: py(
          "import sys\nfor p in ['/tmp/fill', '/dev/shm/fill', '/fill', '/dev/fill', '/usr/fill', '/etc/fill']:\n  try:\n    with open(p, 'wb') as f:\n      for _ in range(8): f.write(b'x' * 512 * 1024)\n    print(p, 'WROTE')\n  except OSError as e:\n    print(p, e.errno)",
        ),
      });
      // ENOSPC on the capped tmpfs mounts, EROFS on the read-only ones.
      expect(places.stdout.trim().split("\n")).toEqual(["/tmp/fill 28", "/dev/shm/fill 28", "/fill 30", "/dev/fill 30", "/usr/fill 30", "/etc/fill 30"]);
    });
  });
});
