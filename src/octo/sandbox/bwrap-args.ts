/**
 * The bubblewrap command line for one run: a pure function of what was decided elsewhere, so a test
 * can read exactly what the sandbox sees. The view is built from nothing (bwrap starts from an empty
 * tmpfs root), and only what is listed here exists inside:
 *
 *   /usr, /lib*, /bin (read-only)   programs and libraries
 *   a few /etc files (read-only)    the loader cache, alternatives, TLS roots, timezone; not passwd,
 *                                   shadow, ssh, or anything under /root, /home, /work
 *   /proc (this pid ns), /dev       minimal devices (null, zero, random, tty...)
 *   /tmp, /dev/shm                  private tmpfs, size-capped
 *   /workspace                      the task's work dir, read-write: the only writable host path
 *
 * then / and /dev are remounted read-only, so the only places to write are the capped tmpfs mounts and
 * the work dir.
 */
import { dirname } from "node:path";
import type { HostLayout } from "./host-layout.js";
import { prlimitArgs, type SandboxLimits } from "./limits.js";

/**
 * userns: bwrap runs unprivileged and makes a new user namespace (the default on modern distros).
 * privileged: bwrap runs as root without a user namespace, and setpriv drops to the sandbox user.
 */
export type SandboxMode = "userns" | "privileged";

/** Where the task's work dir appears inside the sandbox. */
export const SANDBOX_WORKDIR = "/workspace";
export const SANDBOX_HOSTNAME = "sandbox";
export const SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin";

/** /etc files every program may need; absent ones are skipped (--ro-bind-try). */
const ETC_ALWAYS = [
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
  "/etc/alternatives",
  "/etc/localtime",
  "/etc/nsswitch.conf",
  "/etc/services",
  "/etc/protocols",
  "/etc/mime.types",
  "/etc/ssl/certs",
  "/etc/ssl/openssl.cnf",
];
/** Name resolution, only useful when the run shares the host's network. */
const ETC_NETWORK = ["/etc/hosts", "/etc/resolv.conf", "/etc/host.conf", "/etc/gai.conf"];

export interface BwrapPlan {
  mode: SandboxMode;
  layout: HostLayout;
  /** Host path bound read-write at /workspace; null only for the detection probe. */
  workdir: string | null;
  /** Normalized path relative to the work dir ("." for the work dir itself). */
  cwd: string;
  network: boolean;
  /** The complete environment inside (bwrap clears everything else). */
  env: Readonly<Record<string, string>>;
  limits: SandboxLimits;
  /** The sandbox user; required in privileged mode (setpriv switches to it), unused in userns mode. */
  runAs: { uid: number; gid: number } | null;
  /** bwrap writes JSON status lines (child pid, exit code) to this fd. */
  statusFd: number | null;
  /** [absolute binary, ...args], passed through untouched. */
  command: readonly string[];
}

export function buildBwrapArgs(plan: BwrapPlan): string[] {
  const { layout } = plan;
  if (!layout.prlimitPath) throw new Error("prlimit is required inside the sandbox");
  const args: string[] = [];
  const add = (...items: string[]) => args.push(...items);

  // Namespaces. Each run gets its own pid namespace: killing its init kills every process in it,
  // whatever it did to escape its process group.
  if (plan.mode === "userns") {
    // --disable-userns: code inside cannot make a nested user namespace (and so cannot regain
    // capabilities over anything, or reset the RLIMIT_NPROC accounting that contains fork bombs).
    add("--unshare-user", "--disable-userns");
  }
  add("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try");
  if (!plan.network) add("--unshare-net");
  add("--hostname", SANDBOX_HOSTNAME);
  // --new-session: no controlling terminal to push keystrokes into (TIOCSTI).
  // --die-with-parent: if the server dies, the sandbox dies with it.
  add("--die-with-parent", "--new-session");
  if (plan.mode === "privileged") {
    // As root without a user namespace bwrap would keep every capability for the command. Keep only
    // what setpriv needs to become the sandbox user (and DAC_READ_SEARCH so bwrap can chdir into the
    // 0700 work dir before that); setpriv's setuid then clears them all.
    add("--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_DAC_READ_SEARCH");
  }

  add("--clearenv");
  for (const [key, value] of Object.entries(plan.env)) add("--setenv", key, value);

  // Filesystem.
  add("--ro-bind", "/usr", "/usr");
  for (const entry of layout.rootEntries) {
    if (entry.symlinkTarget !== null) add("--symlink", entry.symlinkTarget, entry.path);
    else add("--ro-bind", entry.path, entry.path);
  }
  // bwrap creates missing parents 0700 when run as root, which the sandbox user could not enter; make
  // them explicitly, world-readable.
  const made = new Set<string>(["/"]);
  const mkdirs = (dir: string) => {
    if (made.has(dir)) return;
    mkdirs(dirname(dir));
    add("--perms", "0755", "--dir", dir);
    made.add(dir);
  };
  for (const path of [...ETC_ALWAYS, ...(plan.network ? ETC_NETWORK : [])]) {
    mkdirs(dirname(path));
    add("--ro-bind-try", path, path);
  }
  add("--proc", "/proc", "--dev", "/dev");
  add("--perms", "1777", "--size", String(plan.limits.tmpBytes), "--tmpfs", "/tmp");
  add("--perms", "1777", "--size", String(plan.limits.tmpBytes), "--tmpfs", "/dev/shm");
  if (plan.workdir !== null) add("--bind", plan.workdir, SANDBOX_WORKDIR);
  // The root and /dev are bwrap's own tmpfs mounts, uncapped and (in userns mode) owned by the sandbox
  // user: read-only, so writing there cannot eat the host's RAM.
  add("--remount-ro", "/dev", "--remount-ro", "/");
  add("--chdir", plan.workdir === null ? "/" : plan.cwd === "." ? SANDBOX_WORKDIR : `${SANDBOX_WORKDIR}/${plan.cwd}`);
  if (plan.statusFd !== null) add("--json-status-fd", String(plan.statusFd));

  add("--");
  if (plan.mode === "privileged") {
    if (!layout.setprivPath || !plan.runAs) throw new Error("privileged mode needs setpriv and a sandbox user");
    add(
      layout.setprivPath,
      `--reuid=${plan.runAs.uid}`,
      `--regid=${plan.runAs.gid}`,
      "--clear-groups",
      "--inh-caps=-all",
      "--no-new-privs",
      "--",
    );
  }
  // prlimit runs inside, after the user namespace exists: RLIMIT_NPROC is then counted per
  // (user namespace, uid), i.e. per sandbox, instead of across every process of the host user.
  add(layout.prlimitPath, ...prlimitArgs(plan.limits), "--", ...plan.command);
  return args;
}
