"use client";
// The signed-in shell: the store (one per page load: sync, live subscription, outbox), the
// sidebar with the lists and the connection status, and the reminders' notices.
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import {
  createContext,
  useContext,
  useEffect,
  useState,
  useSyncExternalStore,
  type FormEvent,
} from "react";
import { createApi } from "@/lib/api";
import { authClient } from "@/lib/auth-client";
import { TodoStore, type View } from "@/lib/store";
import { NotificationsToggle, ReminderNotices } from "./Reminders";

const StoreContext = createContext<TodoStore | null>(null);

export function useStore(): { store: TodoStore; view: View } {
  const store = useContext(StoreContext);
  if (!store) throw new Error("useStore outside <Workspace>");
  const view = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  return { store, view };
}

export function Workspace({
  apiUrl,
  user,
  children,
}: {
  apiUrl: string;
  user: { id: string; email: string };
  children: React.ReactNode;
}) {
  const [store, setStore] = useState<TodoStore | null>(null);
  const [failed, setFailed] = useState<string | null>(null);

  useEffect(() => {
    const created = new TodoStore(createApi(apiUrl), user.id);
    setStore(created);
    created.start().catch((error: Error) => setFailed(error.message));
    return () => created.stop();
  }, [apiUrl, user.id]);

  if (failed) {
    return (
      <main className="auth">
        <div className="card" role="alert">
          <h1>Cannot reach the tasks</h1>
          <p>{failed}</p>
          <button onClick={() => location.reload()}>Try again</button>
        </div>
      </main>
    );
  }
  if (!store) return <main className="loading">Loading…</main>;
  return (
    <StoreContext.Provider value={store}>
      <div className="shell">
        <Sidebar email={user.email} />
        <main className="content">{children}</main>
        <ReminderNotices />
      </div>
    </StoreContext.Provider>
  );
}

function Sidebar({ email }: { email: string }) {
  const { store, view } = useStore();
  const pathname = usePathname();
  const router = useRouter();
  const pending = (listId: string | null) =>
    [...view.tasks.values()].filter((t) => t.listId === listId && !t.completed).length;

  function addList(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const input = event.currentTarget.elements.namedItem("name") as HTMLInputElement;
    const name = input.value.trim();
    if (name) store.createList(name);
    input.value = "";
  }

  async function signOut() {
    await authClient.signOut();
    router.replace("/sign-in");
    router.refresh();
  }

  return (
    <aside className="sidebar">
      <div className="who">
        <strong>Todo</strong>
        <span className="muted" data-testid="signed-in-as">
          {email}
        </span>
        <button className="link" onClick={signOut}>
          Sign out
        </button>
      </div>
      <nav aria-label="Lists">
        <ul>
          <li>
            <Link href="/lists/inbox" aria-current={pathname === "/lists/inbox" ? "page" : undefined}>
              <span>Inbox</span>
              <span className="count">{pending(null) || ""}</span>
            </Link>
          </li>
          {view.lists.map((list) => {
            const href = `/lists/${list.id}`;
            return (
              <li key={list.id}>
                {view.unsaved.has(list.id) ? (
                  <span className="saving">{list.name}</span>
                ) : (
                  <Link href={href} aria-current={pathname === href ? "page" : undefined}>
                    <span className={`dot ${list.color?.toLowerCase() ?? ""}`} />
                    <span>{list.name}</span>
                    {list.role !== "OWNER" && (
                      <span className="badge" title={`Shared with you (${list.role.toLowerCase()})`}>
                        shared
                      </span>
                    )}
                    <span className="count">{pending(list.id) || ""}</span>
                  </Link>
                )}
              </li>
            );
          })}
        </ul>
      </nav>
      <form className="new-list" onSubmit={addList}>
        <input name="name" placeholder="New list" aria-label="New list name" maxLength={100} />
        <button type="submit">Add</button>
      </form>
      <SyncStatus view={view} />
      <NotificationsToggle />
      {view.problem && (
        <p role="alert" className="error">
          {view.problem}{" "}
          <button className="link" onClick={() => store.dismissProblem()}>
            Dismiss
          </button>
        </p>
      )}
    </aside>
  );
}

function SyncStatus({ view }: { view: View }) {
  const changes = `${view.waiting} change${view.waiting === 1 ? "" : "s"}`;
  let text: string;
  if (view.status === "offline") text = view.waiting ? `Offline · ${changes} waiting` : "Offline";
  else if (view.status === "reconnecting") text = `Reconnecting…${view.waiting ? ` · ${changes} waiting` : ""}`;
  else if (view.status === "starting") text = "Connecting…";
  else text = view.waiting ? `Saving ${changes}…` : "Live · all changes saved";
  return (
    <p
      className={`status ${view.status}`}
      data-testid="sync-status"
      data-waiting={view.waiting}
      data-last-close={view.lastClose ?? undefined}
    >
      <span className="light" /> {text}
    </p>
  );
}
