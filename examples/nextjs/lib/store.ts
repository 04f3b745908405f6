// The app's state, offline-first: the server's tasks and lists (kept current by sync and the
// live subscription), plus the writes not yet confirmed (the outbox), applied on top so the UI
// shows them at once. Each queued write carries an idempotency key made when it was queued;
// it is sent, and re-sent after a network failure, with that same key, so a retry whose first
// attempt did reach the server is answered from the server's record and changes nothing twice.
import type {
  ResultOf,
  TypedDocumentNode,
  VariablesOf,
} from "@graphql-typed-document-node/core";
import type { ListFieldsFragment, TaskFieldsFragment } from "./gql/graphql";
import { ApiError, NetworkError, forgetToken, type Api } from "./api";
import {
  Changes,
  CreateList,
  CreateListInvite,
  CreateTask,
  DeleteList,
  DeleteTask,
  Events,
  MoveTask,
  SetCompleted,
  UpdateTask,
} from "./operations";

export type Task = TaskFieldsFragment;
export type List = ListFieldsFragment;

/** The writes the outbox knows, by name. */
const WRITES = {
  createList: CreateList,
  deleteList: DeleteList,
  createTask: CreateTask,
  updateTask: UpdateTask,
  setCompleted: SetCompleted,
  deleteTask: DeleteTask,
  moveTask: MoveTask,
} as const;
type Writes = typeof WRITES;
type WriteName = keyof Writes;
type WriteVars<N extends WriteName> = Omit<VariablesOf<Writes[N]>, "key">;
type Write = { [N in WriteName]: { key: string; name: N; vars: WriteVars<N> } }[WriteName];

export type Status = "starting" | "live" | "reconnecting" | "offline";

/** A reminder that came due, shown until dismissed. */
export type Reminder = {
  /** The task's id and the firing's time: one notice per firing. */
  key: string;
  taskId: string;
  title: string;
  listId: string | null;
  remindAt: string | null;
};

export type View = {
  tasks: Map<string, Task>;
  lists: List[];
  /** Ids of tasks and lists that exist only in the outbox so far. */
  unsaved: Set<string>;
  status: Status;
  waiting: number;
  problem: string | null;
  lastClose: number | null;
  reminders: Reminder[];
};

/** Ids of items that exist only locally until their create is confirmed. */
export const tempId = (key: string) => `tmp-${key}`;

export class TodoStore {
  private tasks = new Map<string, Task>();
  private lists = new Map<string, List>();
  private cursor: string | null = null;
  private outbox: Write[];
  /** The live socket: null until it first opens. */
  private socketOpen: boolean | null = null;
  /** How the live socket last closed (4401: its token ended), for the status line. */
  private lastClose: number | null = null;
  /** The last write got no answer (the network is up, the server out of reach). */
  private unreachable = false;
  private problem: string | null = null;
  /** The reminders shown (newest last), and every firing announced so far (by key). */
  private reminders: Reminder[] = [];
  private announced = new Set<string>();
  /**
   * Firings seen in a change (`remindedAt` set) whose `REMINDER` event has not come yet:
   * shown at the next sync if it never does (the socket closed between the two).
   */
  private unannounced = new Map<string, Task>();
  private flushing = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryDelay = 500;
  private listeners = new Set<() => void>();
  private snapshot: View | null = null;
  private stops: (() => void)[] = [];

  constructor(
    private api: Api,
    private userId: string,
  ) {
    this.outbox = JSON.parse(localStorage.getItem(this.outboxKey()) ?? "[]");
  }

  // ---- React binding (useSyncExternalStore) ----

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): View => (this.snapshot ??= this.computeView());

  private changed() {
    this.snapshot = null;
    for (const listener of this.listeners) listener();
  }

  // ---- Life cycle ----

  async start() {
    const online = () => {
      this.retryDelay = 500;
      this.changed();
      void this.flush();
    };
    const offline = () => this.changed();
    window.addEventListener("online", online);
    window.addEventListener("offline", offline);
    this.stops.push(() => window.removeEventListener("online", online));
    this.stops.push(() => window.removeEventListener("offline", offline));
    this.stops.push(
      this.api.onConnected(() => {
        // After every (re)connect: catch up on what happened meanwhile, then send what
        // waits. "Live" once caught up (the subscription is sent before this sync).
        void this.sync().then(() => {
          this.socketOpen = true;
          this.changed();
          return this.flush();
        });
      }),
    );
    this.stops.push(
      this.api.onClosed((code) => {
        this.socketOpen = false;
        this.lastClose = code;
        this.changed();
      }),
    );
    await this.sync();
    this.live();
    void this.flush();
  }

  stop() {
    for (const stop of this.stops.splice(0)) stop();
    clearTimeout(this.retryTimer);
    this.api.dispose();
  }

  private live() {
    const stop = this.api.subscribe(Events, {
      next: ({ taskEvents: event }) => this.apply(event),
      // graphql-ws reconnects by itself, except when the server ends the socket because
      // its token ended (close 4401): subscribe again with a fresh token.
      error: () => {
        forgetToken();
        setTimeout(() => this.live(), 1000);
      },
    });
    this.stops.push(stop);
  }

  private status(): Status {
    if (!navigator.onLine) return "offline";
    if (this.socketOpen === null) return "starting";
    return this.socketOpen && !this.unreachable ? "live" : "reconnecting";
  }

  // ---- Server state: sync and events ----

  /** Incremental sync from the last cursor (everything the first time, or when it expired). */
  async sync(): Promise<void> {
    let data: ResultOf<typeof Changes>;
    try {
      data = await this.api.query(Changes, { since: this.cursor });
    } catch (error) {
      if (error instanceof ApiError && error.code === "CURSOR_EXPIRED") {
        this.cursor = null;
        return this.sync();
      }
      if (error instanceof NetworkError) return; // the next (re)connect syncs
      throw error;
    }
    const changes = data.taskChanges;
    // The first load shows no reminder; later syncs catch up on those fired meanwhile.
    const via = this.cursor === null ? "load" : "sync";
    if (this.cursor === null) {
      this.tasks.clear();
      this.lists.clear();
    }
    for (const list of changes.changedLists) this.upsertList(list);
    for (const task of changes.changed) this.upsertTask(task, via);
    for (const id of changes.deletedIds) this.tasks.delete(id);
    for (const id of changes.deletedListIds) this.lists.delete(id);
    this.cursor = changes.cursor;
    // A firing whose event never came (its socket closed in between): shown now.
    for (const task of [...this.unannounced.values()]) {
      if (this.tasks.has(task.id)) this.remind(task.id, task);
    }
    this.unannounced.clear();
    this.changed();
  }

  private apply(event: ResultOf<typeof Events>["taskEvents"]) {
    switch (event.kind) {
      case "RESYNC":
        void this.sync();
        return;
      case "CREATED":
      case "UPDATED":
        if (event.task) this.upsertTask(event.task, "event");
        break;
      case "REMINDER":
        // Sent to the task's owner and its assignee only, with no cursor of its own.
        if (event.task) this.upsertTask(event.task, "event");
        if (event.id) this.remind(event.id, event.task ?? this.tasks.get(event.id));
        break;
      case "DELETED":
        if (event.id) this.tasks.delete(event.id);
        break;
      case "LIST_CREATED":
      case "LIST_UPDATED":
        if (event.list) this.upsertList(event.list);
        break;
      case "LIST_DELETED":
        if (event.listId) this.lists.delete(event.listId);
        break;
    }
    if (event.cursor) this.cursor = event.cursor;
    this.changed();
  }

  /**
   * Keeps the newest version: an answer and an event for the same change may cross. A
   * reminder of the user's that fired (`remindedAt` newly set) is shown when it comes in a
   * sync (its event was missed while the socket was closed); in an event or an answer it
   * waits for its own `REMINDER` event, or the next sync.
   */
  private upsertTask(task: Task, via: "load" | "sync" | "event" | "answer") {
    const known = this.tasks.get(task.id);
    if (known && known.version > task.version) return;
    this.tasks.set(task.id, task);
    const fired = task.remindedAt !== null && task.remindedAt !== (known?.remindedAt ?? null);
    if (!fired || via === "load" || !this.remindsMe(task)) return;
    if (via === "sync") this.remind(task.id, task);
    else if (!this.announced.has(reminderKey(task.id, task))) this.unannounced.set(task.id, task);
  }

  /** Whether a task's reminders come to this user: its owner's (its list's), or its assignee's. */
  private remindsMe(task: Task): boolean {
    const owner = task.listId === null ? this.userId : this.lists.get(task.listId)?.ownerId;
    return owner === this.userId || task.assigneeId === this.userId;
  }

  /** Shows a reminder of task `id` once per firing. */
  private remind(id: string, task: Task | undefined) {
    const key = reminderKey(id, task);
    this.unannounced.delete(id);
    if (this.announced.has(key)) return;
    this.announced.add(key);
    this.reminders = [
      ...this.reminders.slice(-4),
      { key, taskId: id, title: task?.title ?? "a task", listId: task?.listId ?? null, remindAt: task?.remindAt ?? null },
    ];
    this.changed();
  }

  dismissReminder(key: string) {
    this.reminders = this.reminders.filter((r) => r.key !== key);
    this.changed();
  }

  private upsertList(list: List) {
    const known = this.lists.get(list.id);
    if (!known || known.version <= list.version) this.lists.set(list.id, list);
  }

  // ---- Writes ----

  createList(name: string) {
    this.queue({ key: newKey(), name: "createList", vars: { input: { name } } });
  }
  deleteList(id: string) {
    this.queue({ key: newKey(), name: "deleteList", vars: { id } });
  }
  createTask(input: WriteVars<"createTask">["input"]) {
    this.queue({ key: newKey(), name: "createTask", vars: { input } });
  }
  updateTask(id: string, input: WriteVars<"updateTask">["input"]) {
    this.queue({ key: newKey(), name: "updateTask", vars: { id, input } });
  }
  setCompleted(id: string, completed: boolean) {
    this.queue({ key: newKey(), name: "setCompleted", vars: { id, completed } });
  }
  deleteTask(id: string) {
    this.queue({ key: newKey(), name: "deleteTask", vars: { id } });
  }
  moveTask(id: string, place: { afterId?: string; beforeId?: string }) {
    this.queue({ key: newKey(), name: "moveTask", vars: { id, ...place } });
  }

  /**
   * A new invite link's token for a list of the user's (editors, living 7 days). Not queued:
   * a link is only worth showing once the server has made it.
   */
  async createInvite(listId: string): Promise<string> {
    const data = await this.api.mutate(CreateListInvite, { listId, role: "EDITOR", expiresIn: "7d" });
    if (!data.createListInvite.token) throw new Error("no token in the answer");
    return data.createListInvite.token;
  }

  private queue(write: Write) {
    this.outbox.push(write);
    this.saveOutbox();
    this.changed();
    void this.flush();
  }

  /** Sends the queued writes in order, each with its own key, until one gets no answer. */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    clearTimeout(this.retryTimer);
    try {
      while (this.outbox.length > 0) {
        const write = this.outbox[0];
        try {
          // One write of any kind: its document and variables belong together by construction.
          const document = WRITES[write.name] as TypedDocumentNode<
            ResultOf<Writes[WriteName]>,
            Record<string, unknown>
          >;
          const data = await this.api.mutate(document, { ...write.vars, key: write.key });
          this.confirm(write, data);
        } catch (error) {
          if (error instanceof NetworkError) {
            // No answer: maybe it never left, maybe only its answer was lost. Send it again
            // later with the same key; the server answers a repeat from its record.
            this.unreachable = true;
            this.retryTimer = setTimeout(() => void this.flush(), this.retryDelay);
            this.retryDelay = Math.min(this.retryDelay * 2, 10_000);
            return;
          }
          if (error instanceof ApiError && error.code === "IDEMPOTENCY_KEY_IN_USE") {
            // Its first attempt is still running on the server: ask again for its outcome.
            await new Promise((r) => setTimeout(r, 1000 * (error.retryAfter ?? 1)));
            continue;
          }
          // Refused for good (gone meanwhile, invalid): drop it and show the server's state.
          this.outbox.shift();
          this.problem = error instanceof Error ? error.message : String(error);
          void this.sync();
        }
        this.saveOutbox();
        this.unreachable = false;
        this.retryDelay = 500;
        this.changed();
      }
    } finally {
      this.flushing = false;
      this.changed();
    }
  }

  private confirm(write: Write, data: ResultOf<Writes[WriteName]>) {
    this.outbox.shift();
    if ("createList" in data) this.upsertList(data.createList);
    if ("createTask" in data) this.upsertTask(data.createTask, "answer");
    if ("updateTask" in data) this.upsertTask(data.updateTask, "answer");
    if ("setTaskCompleted" in data) this.upsertTask(data.setTaskCompleted, "answer");
    if ("moveTask" in data) this.upsertTask(data.moveTask, "answer");
    if ("deleteTask" in data) this.removeTaskTree(this.tasks, data.deleteTask);
    if ("deleteList" in data) {
      this.lists.delete(data.deleteList.listId);
      for (const id of data.deleteList.taskIds) this.tasks.delete(id);
    }
    if (this.problem && write.name !== "deleteTask") this.problem = null;
  }

  dismissProblem() {
    this.problem = null;
    this.changed();
  }

  private outboxKey() {
    return `todo-outbox:${this.userId}`;
  }

  private saveOutbox() {
    localStorage.setItem(this.outboxKey(), JSON.stringify(this.outbox));
  }

  private removeTaskTree(tasks: Map<string, Task>, id: string) {
    tasks.delete(id);
    for (const task of [...tasks.values()]) {
      if (task.parentId === id) this.removeTaskTree(tasks, task.id);
    }
  }

  // ---- The view: the server's state with the outbox applied ----

  private computeView(): View {
    const tasks = new Map(this.tasks);
    const lists = new Map(this.lists);
    const unsaved = new Set<string>();
    for (const write of this.outbox) {
      switch (write.name) {
        case "createList": {
          const id = tempId(write.key);
          unsaved.add(id);
          lists.set(id, {
            id,
            name: write.vars.input.name,
            color: null,
            position: "~",
            version: 0,
            role: "OWNER",
            ownerId: this.userId,
          });
          break;
        }
        case "deleteList":
          lists.delete(write.vars.id);
          for (const task of [...tasks.values()]) {
            if (task.listId === write.vars.id) tasks.delete(task.id);
          }
          break;
        case "createTask": {
          const id = tempId(write.key);
          const input = write.vars.input;
          unsaved.add(id);
          tasks.set(id, {
            id,
            title: input.title,
            description: input.description ?? null,
            completed: false,
            dueDate: input.dueDate ?? null,
            completedAt: null,
            version: 0,
            listId: input.listId ?? null,
            parentId: input.parentId ?? null,
            position: "~",
            tags: input.tags ?? [],
            recurrence: input.recurrence ?? null,
            timeZone: input.timeZone ?? "UTC",
            remindAt: input.remindAt ?? null,
            remindedAt: null,
            assigneeId: null,
          });
          break;
        }
        case "updateTask": {
          const task = tasks.get(write.vars.id);
          if (!task) break;
          const input = Object.fromEntries(
            Object.entries(write.vars.input).filter(([, value]) => value !== undefined),
          );
          // A new reminder time re-arms it (or clears it): not fired yet.
          if ("remindAt" in input) input.remindedAt = null;
          tasks.set(task.id, { ...task, ...input } as Task);
          unsaved.add(task.id);
          break;
        }
        case "setCompleted": {
          const task = tasks.get(write.vars.id);
          if (task) tasks.set(task.id, { ...task, completed: write.vars.completed });
          if (task) unsaved.add(task.id);
          break;
        }
        case "deleteTask":
          this.removeTaskTree(tasks, write.vars.id);
          break;
        case "moveTask":
          unsaved.add(write.vars.id);
          break;
      }
    }
    return {
      tasks,
      lists: [...lists.values()].sort((a, b) => compare(a.position, b.position, a.id, b.id)),
      unsaved,
      status: this.status(),
      waiting: this.outbox.length,
      problem: this.problem,
      lastClose: this.lastClose,
      reminders: this.reminders,
    };
  }
}

/** One firing of a task's reminder (its `remindedAt`; unknown when the event came without the task). */
function reminderKey(id: string, task: Task | undefined): string {
  return `${id}@${task?.remindedAt ?? ""}`;
}

/** A fresh idempotency key (a UUID v4; `randomUUID` needs a secure context, this does not). */
function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Manual order: positions compare as plain strings (byte order), ties by id. */
export function compare(a: string, b: string, idA: string, idB: string): number {
  if (a !== b) return a < b ? -1 : 1;
  return idA.localeCompare(idB, "en", { numeric: true });
}

/** The tasks of a list (null: the inbox) as a tree, each level in manual order. */
export type TaskNode = { task: Task; children: TaskNode[] };

export function taskTree(tasks: Map<string, Task>, listId: string | null): TaskNode[] {
  const inList = [...tasks.values()].filter((task) => task.listId === listId);
  const byParent = new Map<string | null, Task[]>();
  for (const task of inList) {
    const siblings = byParent.get(task.parentId ?? null) ?? [];
    siblings.push(task);
    byParent.set(task.parentId ?? null, siblings);
  }
  const build = (parent: string | null): TaskNode[] =>
    (byParent.get(parent) ?? [])
      .sort((a, b) => compare(a.position, b.position, a.id, b.id))
      .map((task) => ({ task, children: build(task.id) }));
  return build(null);
}
