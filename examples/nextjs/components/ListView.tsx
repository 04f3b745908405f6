"use client";
// One list's tasks (or the inbox's): add, edit, complete, delete, drag to reorder (moveTask),
// subtasks, tags with a tag filter, due dates, repeating tasks and reminders; sharing a list of
// one's own by invite link, and a shared list's role (a viewer gets no write controls).
import { useRouter } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";
import { taskTree, type Task, type TaskNode } from "@/lib/store";
import { useStore } from "./Workspace";
import { TaskEditor } from "./TaskEditor";
import { Bell } from "./Reminders";
import { dueLabel, reminderLabel, repeatLabel } from "./dates";

export function ListView({ listId }: { listId: string | null }) {
  const { store, view } = useStore();
  const router = useRouter();
  const [tag, setTag] = useState<string | null>(null);
  const list = listId === null ? null : view.lists.find((l) => l.id === listId);
  /** The invite link shown (its URL), or "making" while the server makes it. */
  const [sharing, setSharing] = useState<string | null>(null);
  const canWrite = list?.role !== "VIEWER";

  if (listId !== null && !list) {
    return (
      <section className="list">
        <h1>List not found</h1>
        <p className="muted">It may have been deleted.</p>
      </section>
    );
  }

  const tree = taskTree(view.tasks, listId);
  const inList = [...view.tasks.values()].filter((t) => t.listId === listId);
  const tags = [...new Set(inList.flatMap((t) => t.tags.map((name) => name.toLowerCase())))].sort();
  const filtered = tag
    ? flatten(tree).filter((t) => t.tags.some((name) => name.toLowerCase() === tag))
    : null;

  function addTask(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const input = event.currentTarget.elements.namedItem("title") as HTMLInputElement;
    const title = input.value.trim();
    if (title) store.createTask({ title, listId });
    input.value = "";
  }

  async function share() {
    if (!list) return;
    setSharing("making");
    try {
      const token = await store.createInvite(list.id);
      setSharing(`${location.origin}/invite/${encodeURIComponent(token)}`);
    } catch (error) {
      setSharing(null);
      alert(`Could not make an invite link: ${error instanceof Error ? error.message : error}`);
    }
  }

  function deleteList() {
    if (list && confirm(`Delete the list “${list.name}” and its tasks?`)) {
      store.deleteList(list.id);
      router.replace("/lists/inbox");
    }
  }

  return (
    <section className="list" aria-label={list?.name ?? "Inbox"}>
      <header className="list-header">
        <h1>{list?.name ?? "Inbox"}</h1>
        {list && list.role !== "OWNER" && (
          <span className="badge" data-testid="list-role">
            shared with you · {list.role.toLowerCase()}
          </span>
        )}
        {list?.role === "OWNER" && (
          <button onClick={share} disabled={sharing === "making"}>
            Share
          </button>
        )}
        {list?.role === "OWNER" && (
          <button className="danger" onClick={deleteList}>
            Delete list
          </button>
        )}
      </header>
      {sharing && sharing !== "making" && <InviteLink url={sharing} onClose={() => setSharing(null)} />}
      {canWrite && (
        <form className="add-task" onSubmit={addTask}>
          <input name="title" placeholder="Add a task" aria-label="New task title" maxLength={200} />
          <button className="primary" type="submit">
            Add
          </button>
        </form>
      )}
      {tags.length > 0 && (
        <div className="tag-filter" role="group" aria-label="Filter by tag">
          <button aria-pressed={tag === null} onClick={() => setTag(null)}>
            All
          </button>
          {tags.map((name) => (
            <button key={name} aria-pressed={tag === name} onClick={() => setTag(name)}>
              #{name}
            </button>
          ))}
        </div>
      )}
      {filtered ? (
        <ul className="tasks" data-testid="tasks">
          {filtered.map((task) => (
            <TaskRow key={task.id} task={task} siblings={[]} depth={0}>
              {null}
            </TaskRow>
          ))}
        </ul>
      ) : (
        <TaskLevel nodes={tree} depth={0} />
      )}
      {tree.length === 0 && <p className="muted empty">No tasks yet.</p>}
    </section>
  );
}

/** A new invite link: its full URL to copy and send. */
function InviteLink({ url, onClose }: { url: string; onClose: () => void }) {
  const [copied, setCopied] = useState(false);

  async function copy(input: HTMLInputElement | null) {
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
    } catch {
      input?.select(); // no clipboard (an insecure origin): selected, to copy by hand
    }
  }

  return (
    <div className="invite" role="group" aria-label="Invite link">
      <p>
        Anyone with this link can join the list as an editor for 7 days.
      </p>
      <div className="invite-row">
        <input
          readOnly
          value={url}
          aria-label="Invite link URL"
          data-testid="invite-link"
          onFocus={(event) => event.currentTarget.select()}
        />
        <button
          className="primary"
          onClick={(event) =>
            copy(event.currentTarget.parentElement?.querySelector("input") ?? null)
          }
        >
          {copied ? "Copied" : "Copy"}
        </button>
        <button className="link" onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}

function flatten(nodes: TaskNode[]): Task[] {
  return nodes.flatMap((node) => [node.task, ...flatten(node.children)]);
}

function TaskLevel({ nodes, depth }: { nodes: TaskNode[]; depth: number }) {
  if (nodes.length === 0) return null;
  const siblings = nodes.map((node) => node.task.id);
  return (
    <ul className={depth === 0 ? "tasks" : "subtasks"} data-testid={depth === 0 ? "tasks" : undefined}>
      {nodes.map((node) => (
        <TaskRow key={node.task.id} task={node.task} siblings={siblings} depth={depth}>
          <TaskLevel nodes={node.children} depth={depth + 1} />
        </TaskRow>
      ))}
    </ul>
  );
}

/**
 * How long a repeating task the user has just completed stays shown done, with its next due
 * date, before it shows as pending again. The server answers a completion within milliseconds
 * with the task pending and due next time: without this moment the box would flicker and the
 * row would seem to have ignored the click.
 */
const COMPLETED_MOMENT_MS = 1500;

/** The task being dragged and its group (its parent), shared by the rows of one page. */
let dragging: { id: string; group: string } | null = null;

function TaskRow({
  task,
  siblings,
  depth,
  children,
}: {
  task: Task;
  siblings: string[];
  depth: number;
  children: React.ReactNode;
}) {
  const { store, view } = useStore();
  const [editing, setEditing] = useState(false);
  const [addingSubtask, setAddingSubtask] = useState(false);
  const [dropTarget, setDropTarget] = useState(false);
  /** A repeating task completed here: its version when the box was ticked. */
  const [completing, setCompleting] = useState<{ version: number } | null>(null);
  const unsaved = view.unsaved.has(task.id);
  // The server took the completion and moved the series on (still pending, due next time).
  const rolledOn = completing !== null && !unsaved && !task.completed && task.version > completing.version;
  const done = task.completed || completing !== null;
  const saved = !task.id.startsWith("tmp-");
  // A viewer of a shared list reads it: no writes offered.
  const canWrite = view.lists.find((l) => l.id === task.listId)?.role !== "VIEWER";
  const canDrag = canWrite && saved && siblings.length > 1;
  const group = task.parentId ?? "top";
  const sameGroup = () => dragging !== null && dragging.group === group && dragging.id !== task.id;

  useEffect(() => {
    // While the write waits (offline too) the row stays done. Once it is answered: a series
    // that moved on shows done with its next date for a moment; a last occurrence is done for
    // good, and a refused write shows the task as the server has it, both at once.
    if (completing === null || unsaved) return;
    if (!rolledOn) {
      setCompleting(null);
      return;
    }
    const timer = setTimeout(() => setCompleting(null), COMPLETED_MOMENT_MS);
    return () => clearTimeout(timer);
  }, [completing, unsaved, rolledOn]);

  function complete(checked: boolean) {
    if (checked && task.recurrence) setCompleting({ version: task.version });
    store.setCompleted(task.id, checked);
  }

  function addSubtask(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const input = event.currentTarget.elements.namedItem("title") as HTMLInputElement;
    const title = input.value.trim();
    if (title) store.createTask({ title, parentId: task.id });
    input.value = "";
    setAddingSubtask(false);
  }

  function drop() {
    setDropTarget(false);
    if (!dragging || !sameGroup()) return;
    const from = siblings.indexOf(dragging.id);
    const to = siblings.indexOf(task.id);
    if (from < 0 || to < 0) return;
    // Dropped on a row below: it goes just below that row; above: just above it.
    store.moveTask(dragging.id, from < to ? { afterId: task.id } : { beforeId: task.id });
    dragging = null;
  }

  return (
    <li className={`task${done ? " done" : ""}${unsaved ? " unsaved" : ""}`} data-task-id={task.id}>
      <div
        className={`row${dropTarget ? " drop" : ""}`}
        data-testid="task-row"
        draggable={canDrag}
        onDragStart={(event) => {
          dragging = { id: task.id, group };
          event.dataTransfer.effectAllowed = "move";
          event.dataTransfer.setData("text/plain", task.title);
        }}
        onDragEnd={() => (dragging = null)}
        onDragOver={(event) => {
          if (sameGroup()) {
            event.preventDefault();
            setDropTarget(true);
          }
        }}
        onDragLeave={() => setDropTarget(false)}
        onDrop={(event) => {
          event.preventDefault();
          drop();
        }}
      >
        {canDrag && <span className="handle" aria-hidden title="Drag to reorder">⋮⋮</span>}
        <input
          type="checkbox"
          checked={done}
          // Unticking a series that is moving on would not bring its occurrence back.
          disabled={!saved || !canWrite || completing !== null}
          aria-label={`Complete ${task.title}`}
          onChange={(event) => complete(event.target.checked)}
        />
        <div className="body">
          <span className="title">{task.title}</span>
          {task.description && <span className="description">{task.description}</span>}
          <span className="meta">
            {rolledOn && <span className="next">done · next</span>}
            {task.dueDate && (
              <time dateTime={task.dueDate} className="due" data-testid="due">
                {dueLabel(task.dueDate)}
              </time>
            )}
            {task.recurrence && <span className="repeat">↻ {repeatLabel(task.recurrence)}</span>}
            {task.remindAt && (
              <span
                className={`reminder${task.remindedAt ? " fired" : ""}`}
                data-testid="reminder"
                title={task.remindedAt ? "Reminded" : "Reminder pending"}
              >
                <Bell />{" "}
                <time dateTime={task.remindAt} aria-label={`Reminder ${reminderLabel(task.remindAt)}`}>
                  {reminderLabel(task.remindAt)}
                </time>
              </span>
            )}
            {task.tags.map((name) => (
              <span key={name} className="tag">
                #{name}
              </span>
            ))}
            {unsaved && <span className="saving">saving…</span>}
          </span>
        </div>
        {saved && canWrite && (
          <span className="actions">
            {depth < 2 && (
              <button onClick={() => setAddingSubtask(!addingSubtask)} aria-label={`Add a subtask to ${task.title}`}>
                + Subtask
              </button>
            )}
            <button onClick={() => setEditing(!editing)} aria-label={`Edit ${task.title}`}>
              Edit
            </button>
            <button className="danger" onClick={() => store.deleteTask(task.id)} aria-label={`Delete ${task.title}`}>
              Delete
            </button>
          </span>
        )}
      </div>
      {editing && <TaskEditor task={task} onDone={() => setEditing(false)} />}
      {addingSubtask && (
        <form className="add-task sub" onSubmit={addSubtask}>
          <input name="title" placeholder="Subtask" aria-label={`Subtask of ${task.title}`} autoFocus maxLength={200} />
          <button type="submit">Add</button>
        </form>
      )}
      {children}
    </li>
  );
}
