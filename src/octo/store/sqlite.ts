/**
 * The embedded store: one SQLite file (better-sqlite3, WAL) holding tasks, their steps and events,
 * the memory (facts with an FTS5 index, per-arm episodes) and, through the retriever, the knowledge
 * collections. Several LMX processes may open the same file: claims are taken in IMMEDIATE
 * transactions and writers wait for each other (busy_timeout) instead of failing.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { PRIORITY_RANK, type StepRecord, type TaskEvent, type TaskEventType } from "../contract.js";
import { toFtsMatchExpression } from "../retriever/index.js";
import type { Episode, Fact, NewTask, OctoStore, StoredTask, TaskFilter, TaskPatch } from "./types.js";

export type Db = Database.Database;

/** Opens (creating if needed) the database file in WAL mode; ":memory:" for a private in-memory one. */
export function openOctoDatabase(path: string): Db {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  // A crash may lose the last transactions' fsync but never corrupts: and task state is re-derivable.
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  db.pragma("foreign_keys = ON");
  return db;
}

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS octo_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS octo_tasks (
  seq               INTEGER PRIMARY KEY AUTOINCREMENT,
  id                TEXT NOT NULL UNIQUE,
  status            TEXT NOT NULL,
  goal              TEXT NOT NULL,
  contract          TEXT NOT NULL,
  contract_hash     TEXT NOT NULL,
  idempotency_key   TEXT UNIQUE,
  priority          TEXT NOT NULL,
  priority_rank     INTEGER NOT NULL,
  plan              TEXT,
  result            TEXT,
  error             TEXT,
  prompt_tokens     INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  steps_run         INTEGER NOT NULL DEFAULT 0,
  elapsed_ms        INTEGER NOT NULL DEFAULT 0,
  resumes           INTEGER NOT NULL DEFAULT 0,
  cancel_requested  INTEGER NOT NULL DEFAULT 0,
  created_at        INTEGER NOT NULL,
  started_at        INTEGER,
  finished_at       INTEGER,
  owner             TEXT,
  lease_until       INTEGER
);
CREATE INDEX IF NOT EXISTS octo_tasks_status ON octo_tasks (status, priority_rank DESC, seq);

CREATE TABLE IF NOT EXISTS octo_steps (
  task_id     TEXT NOT NULL REFERENCES octo_tasks (id) ON DELETE CASCADE,
  step_id     TEXT NOT NULL,
  position    INTEGER NOT NULL,
  record      TEXT NOT NULL,
  PRIMARY KEY (task_id, step_id)
);

CREATE TABLE IF NOT EXISTS octo_events (
  task_id TEXT NOT NULL REFERENCES octo_tasks (id) ON DELETE CASCADE,
  seq     INTEGER NOT NULL,
  type    TEXT NOT NULL,
  time    TEXT NOT NULL,
  data    TEXT NOT NULL,
  PRIMARY KEY (task_id, seq)
);

CREATE TABLE IF NOT EXISTS octo_facts (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  text       TEXT NOT NULL,
  task_id    TEXT,
  provenance TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS octo_facts_fts USING fts5 (
  text, content = 'octo_facts', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS octo_facts_ai AFTER INSERT ON octo_facts BEGIN
  INSERT INTO octo_facts_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS octo_facts_ad AFTER DELETE ON octo_facts BEGIN
  INSERT INTO octo_facts_fts (octo_facts_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;

CREATE TABLE IF NOT EXISTS octo_episodes (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  arm        TEXT NOT NULL,
  input      TEXT NOT NULL,
  output     TEXT NOT NULL,
  task_id    TEXT,
  model      TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS octo_episodes_arm ON octo_episodes (arm, id DESC);
`;

/** Creates Octo's tables if missing. Safe on every start. */
export function migrateOcto(db: Db): void {
  db.transaction(() => {
    db.exec(SCHEMA);
    const row = db.prepare("SELECT value FROM octo_meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
    const version = row ? Number(row.value) : 0;
    if (version > SCHEMA_VERSION) throw new Error(`octo schema version ${version} is newer than this LMX understands (${SCHEMA_VERSION})`);
    db.prepare("INSERT OR REPLACE INTO octo_meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
  })();
}

interface TaskRow {
  id: string;
  status: string;
  contract: string;
  contract_hash: string;
  idempotency_key: string | null;
  priority: string;
  plan: string | null;
  result: string | null;
  error: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  steps_run: number;
  elapsed_ms: number;
  resumes: number;
  cancel_requested: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  owner: string | null;
  lease_until: number | null;
}

const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

function toTask(row: TaskRow): StoredTask {
  return {
    id: row.id,
    status: row.status as StoredTask["status"],
    contract: JSON.parse(row.contract) as StoredTask["contract"],
    contract_hash: row.contract_hash,
    idempotency_key: row.idempotency_key,
    priority: row.priority as StoredTask["priority"],
    plan: parse(row.plan),
    result: parse(row.result),
    error: parse(row.error),
    prompt_tokens: row.prompt_tokens,
    completion_tokens: row.completion_tokens,
    steps_run: row.steps_run,
    elapsed_ms: row.elapsed_ms,
    resumes: row.resumes,
    cancel_requested: row.cancel_requested === 1,
    created_at: row.created_at,
    started_at: row.started_at,
    finished_at: row.finished_at,
    owner: row.owner,
    lease_until: row.lease_until,
  };
}

const JSON_COLUMNS = new Set(["plan", "result", "error"]);
/** The columns updateTask may set (its SQL is built from the patch's keys). */
const PATCHABLE = new Set([
  "status", "plan", "result", "error", "prompt_tokens", "completion_tokens", "steps_run", "elapsed_ms", "resumes",
  "cancel_requested", "started_at", "finished_at", "owner", "lease_until",
]);

export function createSqliteStore(db: Db): OctoStore {
  migrateOcto(db);
  const getTask = db.prepare<[string], TaskRow>("SELECT * FROM octo_tasks WHERE id = ?");
  const getByKey = db.prepare<[string], TaskRow>("SELECT * FROM octo_tasks WHERE idempotency_key = ?");
  const insertTask = db.prepare(
    `INSERT INTO octo_tasks (id, status, goal, contract, contract_hash, idempotency_key, priority, priority_rank, created_at)
     VALUES (@id, 'pending', @goal, @contract, @contract_hash, @idempotency_key, @priority, @priority_rank, @created_at)`,
  );
  const unfinished = db.prepare<[], TaskRow>(
    "SELECT * FROM octo_tasks WHERE status IN ('pending', 'planning', 'running') ORDER BY priority_rank DESC, seq",
  );
  const claim = db.prepare("UPDATE octo_tasks SET owner = ?, lease_until = ?, resumes = resumes + ? WHERE id = ?");
  const cancelUnclaimed = db.prepare(
    `UPDATE octo_tasks SET status = 'cancelled', error = ?, finished_at = ?, cancel_requested = 1
     WHERE id = ? AND owner IS NULL AND status IN ('pending', 'planning', 'running')`,
  );
  const renew = db.prepare("UPDATE octo_tasks SET lease_until = ? WHERE owner = ? AND status IN ('pending', 'planning', 'running')");
  const upsertStep = db.prepare(
    `INSERT INTO octo_steps (task_id, step_id, position, record) VALUES (?, ?, ?, ?)
     ON CONFLICT (task_id, step_id) DO UPDATE SET position = excluded.position, record = excluded.record`,
  );
  const deleteSteps = db.prepare("DELETE FROM octo_steps WHERE task_id = ?");
  const listSteps = db.prepare<[string], { record: string }>("SELECT record FROM octo_steps WHERE task_id = ? ORDER BY position");
  const nextSeq = db.prepare<[string], { seq: number }>("SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM octo_events WHERE task_id = ?");
  const insertEvent = db.prepare("INSERT INTO octo_events (task_id, seq, type, time, data) VALUES (?, ?, ?, ?, ?)");
  const listEvents = db.prepare<[string, number, number], { task_id: string; seq: number; type: string; time: string; data: string }>(
    "SELECT * FROM octo_events WHERE task_id = ? AND seq > ? ORDER BY seq LIMIT ?",
  );
  const insertFact = db.prepare("INSERT INTO octo_facts (text, task_id, provenance, created_at) VALUES (?, ?, ?, ?)");
  const searchFacts = db.prepare<[string, number], { id: number; text: string; task_id: string | null; provenance: string; created_at: number }>(
    `SELECT f.* FROM octo_facts_fts JOIN octo_facts f ON f.id = octo_facts_fts.rowid
     WHERE octo_facts_fts MATCH ? ORDER BY bm25(octo_facts_fts) LIMIT ?`,
  );
  const insertEpisode = db.prepare("INSERT INTO octo_episodes (arm, input, output, task_id, model, created_at) VALUES (?, ?, ?, ?, ?, ?)");
  const recentEpisodes = db.prepare<[string, number], Episode>("SELECT * FROM octo_episodes WHERE arm = ? ORDER BY id DESC LIMIT ?");
  const trimEpisodes = db.prepare("DELETE FROM octo_episodes WHERE arm = ? AND id <= (SELECT id FROM octo_episodes WHERE arm = ? ORDER BY id DESC LIMIT 1 OFFSET ?)");

  const create = db.transaction((task: NewTask): { task: StoredTask; created: boolean } => {
    if (task.idempotency_key !== null) {
      const existing = getByKey.get(task.idempotency_key);
      if (existing) return { task: toTask(existing), created: false };
    }
    insertTask.run({
      id: task.id,
      goal: task.contract.goal,
      contract: JSON.stringify(task.contract),
      contract_hash: task.contract_hash,
      idempotency_key: task.idempotency_key,
      priority: task.priority,
      priority_rank: PRIORITY_RANK[task.priority],
      created_at: task.created_at,
    });
    return { task: toTask(getTask.get(task.id) as TaskRow), created: true };
  });

  const claimTasks = db.transaction((owner: string, leaseUntil: number, now: number, limit: number, isDead: (owner: string) => boolean) => {
    const taken: StoredTask[] = [];
    const rows = unfinished.all();
    // Work already begun first (resumed from where it stopped), then the queue by priority.
    const begun = rows.filter((r) => r.status !== "pending");
    const queued = rows.filter((r) => r.status === "pending");
    for (const row of [...begun, ...queued]) {
      if (taken.length >= limit) break;
      let resumed = 0;
      if (row.owner !== null) {
        if (row.owner === owner) continue;
        const orphaned = isDead(row.owner) || (row.lease_until ?? 0) < now;
        if (!orphaned) continue;
        // Its instance died while it ran: that counts towards max_resumes.
        resumed = row.status === "pending" ? 0 : 1;
      }
      claim.run(owner, leaseUntil, resumed, row.id);
      taken.push(toTask(getTask.get(row.id) as TaskRow));
    }
    return taken;
  });

  const saveSteps = db.transaction((taskId: string, steps: StepRecord[]) => {
    deleteSteps.run(taskId);
    for (const step of steps) upsertStep.run(taskId, step.id, step.position, JSON.stringify(step));
  });

  const appendEvent = db.transaction((taskId: string, type: TaskEventType, data: Record<string, unknown>): TaskEvent => {
    const seq = (nextSeq.get(taskId) as { seq: number }).seq;
    const time = new Date().toISOString();
    insertEvent.run(taskId, seq, type, time, JSON.stringify(data));
    return { task_id: taskId, seq, type, time, data };
  });

  return {
    async createTask(task) {
      return create.immediate(task);
    },
    async getTask(id) {
      const row = getTask.get(id);
      return row ? toTask(row) : null;
    },
    async listTasks(filter: TaskFilter) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.status?.length) {
        where.push(`status IN (${filter.status.map(() => "?").join(", ")})`);
        params.push(...filter.status);
      }
      if (filter.priority?.length) {
        where.push(`priority IN (${filter.priority.map(() => "?").join(", ")})`);
        params.push(...filter.priority);
      }
      for (const word of (filter.q ?? "").split(/\s+/).filter(Boolean)) {
        where.push("goal LIKE ? ESCAPE '\\'");
        params.push(`%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      }
      if (filter.since !== undefined) {
        where.push("created_at >= ?");
        params.push(filter.since);
      }
      if (filter.until !== undefined) {
        where.push("created_at < ?");
        params.push(filter.until);
      }
      if (filter.after !== undefined) {
        where.push("seq < COALESCE((SELECT seq FROM octo_tasks WHERE id = ?), 0)");
        params.push(filter.after);
      }
      const sql = `SELECT * FROM octo_tasks ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`;
      return (db.prepare(sql).all(...params, filter.limit) as TaskRow[]).map(toTask);
    },
    async updateTask(id, patch: TaskPatch) {
      const entries = Object.entries(patch).filter(([key, value]) => value !== undefined && PATCHABLE.has(key));
      if (entries.length === 0) return;
      const sets = entries.map(([key]) => `${key} = ?`).join(", ");
      const values = entries.map(([key, value]) =>
        JSON_COLUMNS.has(key) ? (value === null ? null : JSON.stringify(value)) : typeof value === "boolean" ? (value ? 1 : 0) : value,
      );
      db.prepare(`UPDATE octo_tasks SET ${sets} WHERE id = ?`).run(...values, id);
    },
    async claimTasks({ owner, leaseUntil, now, limit, isDead }) {
      if (limit <= 0) return [];
      return claimTasks.immediate(owner, leaseUntil, now, limit, isDead);
    },
    async cancelUnclaimed(id, error, finishedAt) {
      return cancelUnclaimed.run(JSON.stringify(error), finishedAt, id).changes === 1;
    },
    async renewLeases({ owner, leaseUntil }) {
      renew.run(leaseUntil, owner);
    },
    async saveSteps(taskId, steps) {
      saveSteps(taskId, steps);
    },
    async updateStep(taskId, step) {
      upsertStep.run(taskId, step.id, step.position, JSON.stringify(step));
    },
    async listSteps(taskId) {
      return listSteps.all(taskId).map((row) => JSON.parse(row.record) as StepRecord);
    },
    async appendEvent(taskId, type, data) {
      return appendEvent.immediate(taskId, type, data);
    },
    async listEvents(taskId, afterSeq, limit) {
      return listEvents.all(taskId, afterSeq, limit).map((row) => ({
        task_id: row.task_id,
        seq: row.seq,
        type: row.type as TaskEventType,
        time: row.time,
        data: JSON.parse(row.data) as Record<string, unknown>,
      }));
    },
    async addFact(fact) {
      insertFact.run(fact.text, fact.task_id, JSON.stringify(fact.provenance), Date.now());
    },
    async searchFacts(query, limit): Promise<Fact[]> {
      const match = toFtsMatchExpression(query);
      if (match === null) return [];
      return searchFacts.all(match, limit).map((row) => ({ ...row, provenance: JSON.parse(row.provenance) as Record<string, unknown> }));
    },
    async addEpisode(episode) {
      insertEpisode.run(episode.arm, episode.input, episode.output, episode.task_id, episode.model, Date.now());
      // Only recent examples are ever offered; keep a bounded tail per arm.
      trimEpisodes.run(episode.arm, episode.arm, 200);
    },
    async recentEpisodes(arm, limit) {
      return recentEpisodes.all(arm, limit);
    },
    async close() {
      // The database handle belongs to whoever opened it (it is shared with the retriever).
    },
  };
}
