// @ts-check
// The story the browser test tells, step by step, as Alice and Bob would use the app.
import { apiAs, equal, guard, screenshot, Steps } from "./support.mjs";

/** @typedef {import("playwright-core").Browser} Browser */
/** @typedef {import("playwright-core").BrowserContext} BrowserContext */
/** @typedef {import("playwright-core").Page} Page */

const PASSWORD = "correct horse battery";
/** Browsers in Berlin: a due day means 09:00 there, 08:00 UTC in winter. */
const CONTEXT = { timezoneId: "Europe/Berlin", locale: "en-GB", viewport: { width: 1180, height: 820 } };

/**
 * @param {Browser} browser
 * @param {{ app: string, api: string }} urls
 * @param {Steps} steps
 */
export async function story(browser, urls, steps) {
  const run = Date.now().toString(36);
  const alice = { email: `alice-${run}@example.com`, name: "Alice" };
  const bob = { email: `bob-${run}@example.com`, name: "Bob" };

  const aliceContext = await browser.newContext(CONTEXT);
  const bobContext = await browser.newContext(CONTEXT);
  guard.watch(aliceContext, "Alice");
  guard.watch(bobContext, "Bob");
  await aliceContext.addInitScript(notificationsStandIn);
  const a = await aliceContext.newPage();
  const b = await bobContext.newPage();
  const aliceApi = apiAs(aliceContext, urls);
  /** @type {Record<string, string>} the ids of Alice's tasks, by title */
  const ids = {};
  let listId = "";

  await steps.run("Alice and Bob sign up", async () => {
    await signUp(a, urls.app, alice, "sign-up");
    await signUp(b, urls.app, bob);
    await expectText(a, "signed-in-as", alice.email);
    await expectText(b, "signed-in-as", bob.email);
    await expectStatus(a, "Live · all changes saved");
    await screenshot(a, "inbox-empty");
  }, [a, b]);

  await steps.run("Alice creates a list and adds tasks", async () => {
    await a.getByLabel("New list name").fill("Trip to Lisbon");
    await a.getByLabel("New list name").press("Enter");
    await a.getByRole("link", { name: "Trip to Lisbon" }).click();
    await a.getByRole("heading", { name: "Trip to Lisbon" }).waitFor();
    listId = a.url().split("/").pop() ?? "";
    for (const title of ["Book flights", "Pack bags", "Buy sunscreen"]) {
      await a.getByLabel("New task title").fill(title);
      await a.getByLabel("New task title").press("Enter");
    }
    await expectOrder(a, ["Book flights", "Pack bags", "Buy sunscreen"]);
    await expectStatus(a, "Live · all changes saved");
    const { list } = await aliceApi(`query($id: ID!) { list(id: $id) { name tasks { id title } } }`, { id: listId });
    for (const task of list.tasks) ids[task.title] = task.id;
    // Inside a list its manual order is the default order (no `sort` given).
    equal(list.tasks.map((/** @type {any} */ t) => t.title), ["Book flights", "Pack bags", "Buy sunscreen"], "the list's tasks on the server");
  }, [a]);

  await steps.run("Alice reorders two tasks by dragging", async () => {
    await row(a, "Buy sunscreen").dragTo(row(a, "Book flights"));
    await expectOrder(a, ["Buy sunscreen", "Book flights", "Pack bags"]);
    await expectStatus(a, "Live · all changes saved");
    const { list } = await aliceApi(`query($id: ID!) { list(id: $id) { tasks(parentId: null) { title } } }`, { id: listId });
    equal(list.tasks.map((/** @type {any} */ t) => t.title), ["Buy sunscreen", "Book flights", "Pack bags"], "the order on the server");
    await screenshot(a, "list-reordered");
  }, [a]);

  await steps.run("Alice adds a subtask and tags", async () => {
    await a.getByRole("button", { name: "Add a subtask to Pack bags" }).click();
    await a.getByLabel("Subtask of Pack bags").fill("Passport");
    await a.getByLabel("Subtask of Pack bags").press("Enter");
    await a.locator('[data-task-id] .subtasks [data-testid="task-row"]', { hasText: "Passport" }).waitFor();
    await a.getByRole("button", { name: "Edit Buy sunscreen" }).click();
    await a.getByRole("form", { name: "Edit Buy sunscreen" }).getByLabel("Tags").fill("shopping, summer");
    await screenshot(a, "task-editor");
    await a.getByRole("form", { name: "Edit Buy sunscreen" }).getByRole("button", { name: "Save" }).click();
    await a.getByRole("button", { name: "Edit Book flights" }).click();
    await a.getByRole("form", { name: "Edit Book flights" }).getByLabel("Tags").fill("summer");
    await a.getByRole("form", { name: "Edit Book flights" }).getByRole("button", { name: "Save" }).click();
    await expectStatus(a, "Live · all changes saved");
    await a.getByRole("button", { name: "#shopping" }).click();
    await expectOrder(a, ["Buy sunscreen"]);
    await screenshot(a, "tag-filter");
    await a.getByRole("button", { name: "#summer" }).click();
    await expectOrder(a, ["Buy sunscreen", "Book flights"]);
    await a.getByRole("button", { name: "All", exact: true }).click();
    const data = await aliceApi(`query($id: ID!) { list(id: $id) { tasks(tags: ["summer"]) { title tags } }
      task(id: "${ids["Pack bags"]}") { subtasks { title listId } } }`, { id: listId });
    equal(data.list.tasks.map((/** @type {any} */ t) => t.title).sort(), ["Book flights", "Buy sunscreen"], "tasks tagged summer");
    equal(data.task.subtasks, [{ title: "Passport", listId }], "Pack bags' subtasks");
  }, [a]);

  await steps.run("Alice creates a repeating task and completes it: its due date moves on", async () => {
    await a.getByLabel("New task title").fill("Water the plants");
    await a.getByLabel("New task title").press("Enter");
    await a.getByRole("button", { name: "Edit Water the plants" }).click();
    const editor = a.getByRole("form", { name: "Edit Water the plants" });
    await editor.getByLabel("Due").fill("2030-01-10");
    await editor.getByLabel("Repeat").selectOption({ label: "Every day" });
    await editor.getByRole("button", { name: "Save" }).click();
    await expectDue(a, "Water the plants", "2030-01-10T08:00:00");
    await expectStatus(a, "Live · all changes saved");
    // Not `check()`: the server answers a completion of a repeating task with the task still
    // pending, due the next day, so the box is ticked only for a moment (a check of its state
    // right after the click races that answer). What a person sees is waited for instead: the
    // row done with its next date, then pending again with that date.
    const shown = await watchRow(a, "Water the plants", '.task.done > .row:has(.next + time[datetime^="2030-01-11T08:00:00"])');
    await a.getByLabel("Complete Water the plants").click();
    await shown("done, with its next date");
    await expectDue(a, "Water the plants", "2030-01-11T08:00:00");
    await row(a, "Water the plants").locator("input[type=checkbox]:not(:checked):enabled").waitFor({ timeout: SETTLE });
    await expectStatus(a, "Live · all changes saved");
    const { list } = await aliceApi(`query($id: ID!) { list(id: $id) { tasks(search: "plants") { id completed dueDate recurrence timeZone version } } }`, { id: listId });
    const [plants] = list.tasks;
    ids["Water the plants"] = plants.id;
    equal(
      [plants.completed, plants.dueDate, plants.recurrence, plants.timeZone],
      [false, "2030-01-11T08:00:00.000000Z", "FREQ=DAILY", "Europe/Berlin"],
      "the repeating task after one completion",
    );
    await screenshot(a, "repeating-task");
  }, [a]);

  await shareListByInviteLink(steps, { alice: a, bob: b, urls, listId, aliceApi });

  // A second device of Alice's, signed in apart, sees her changes live (no reload).
  const aliceOther = await browser.newContext(CONTEXT);
  guard.watch(aliceOther, "Alice's second device");
  await aliceOther.addInitScript(socketsThatLoseReminders);
  const a2 = await aliceOther.newPage();
  let a2Sockets = 0;
  a2.on("websocket", (socket) => {
    if (socket.url().endsWith("/graphql")) a2Sockets++;
  });

  await steps.run("Alice's other device sees a new task appear live", async () => {
    await signIn(a2, urls.app, alice);
    await a2.getByRole("link", { name: "Trip to Lisbon" }).click();
    await expectOrder(a2, ["Buy sunscreen", "Book flights", "Pack bags", "Water the plants", "Find a good fado bar"]);
    await expectStatus(a2, "Live · all changes saved");
    await a.getByLabel("New task title").fill("Call the hotel");
    await a.getByLabel("New task title").press("Enter");
    await expectOrder(a2, ["Buy sunscreen", "Book flights", "Pack bags", "Water the plants", "Find a good fado bar", "Call the hotel"]);
    await screenshot(a2, "second-device-live");
  }, [a, a2]);

  await steps.run("Alice edits and deletes; the other device follows", async () => {
    await a.getByRole("button", { name: "Edit Call the hotel" }).click();
    const editor = a.getByRole("form", { name: "Edit Call the hotel" });
    await editor.getByLabel("Title").fill("Call the hotel about late check-in");
    await editor.getByRole("button", { name: "Save" }).click();
    await row(a2, "Call the hotel about late check-in").waitFor();
    await a.getByRole("button", { name: "Delete Call the hotel about late check-in" }).click();
    await expectOrder(a2, ["Buy sunscreen", "Book flights", "Pack bags", "Water the plants", "Find a good fado bar"]);
  }, [a, a2]);

  await steps.run("Bob sees only the list shared with him and keeps his own", async () => {
    await b.goto(`${urls.app}/lists/inbox`);
    await expectStatus(b, "Live · all changes saved");
    const lists = b.getByRole("navigation", { name: "Lists" }).getByRole("link");
    equal(await lists.count(), 2, "Bob's lists: his inbox and the shared one");
    await lists.filter({ hasText: "Trip to Lisbon" }).filter({ hasText: "shared" }).waitFor();
    await b.getByLabel("New task title").fill("Bob's own task");
    await b.getByLabel("New task title").press("Enter");
    await expectOrder(b, ["Bob's own task"]);
    await expectStatus(b, "Live · all changes saved");
    await screenshot(b, "bob-inbox");
  }, [b]);

  await steps.run("Offline: Alice completes a task, comes back, the server has exactly one completion", async () => {
    const before = await taskState(aliceApi, ids["Water the plants"]);
    await guard.expecting(/ERR_INTERNET_DISCONNECTED|WebSocket|Failed to load resource/, async () => {
      await aliceContext.setOffline(true);
      await expectStatus(a, "Offline");
      await a.getByLabel("Complete Water the plants").click();
      await expectStatus(a, "Offline · 1 change waiting");
      await screenshot(a, "offline-change-waiting");
      // Nothing reached the server while offline.
      equal(await taskState(aliceApi, ids["Water the plants"]), before, "the task while Alice is offline");
      await aliceContext.setOffline(false);
      await expectStatus(a, "Live · all changes saved");
    });
    const after = await taskState(aliceApi, ids["Water the plants"]);
    equal(
      [after.version, after.dueDate, after.completed],
      [before.version + 1, "2030-01-12T08:00:00.000000Z", false],
      "one completion: one version more, one occurrence on",
    );
    await expectDue(a, "Water the plants", "2030-01-12T08:00:00");
    await expectDue(a2, "Water the plants", "2030-01-12T08:00:00");
  }, [a, a2]);

  await steps.run("A write whose answer is lost is retried with its key and done once", async () => {
    // The first attempt reaches the server, which creates the task; its answer never reaches
    // the browser. The app sends it again with the same idempotency key.
    let lost = 0;
    await a.route(`${urls.api}/graphql`, async (route) => {
      if (lost === 0 && route.request().postData()?.includes("mutation CreateTask")) {
        lost++;
        await route.fetch();
        await route.abort("connectionreset");
      } else {
        await route.fallback();
      }
    });
    await guard.expecting(/\/graphql \(net::ERR_CONNECTION_RESET\)|Failed to load resource/, async () => {
      await a.getByLabel("New task title").fill("Buy a phrasebook");
      await a.getByLabel("New task title").press("Enter");
      await expectStatus(a, "Live · all changes saved");
    });
    await a.unroute(`${urls.api}/graphql`);
    equal(lost, 1, "answers lost");
    const { list } = await aliceApi(`query($id: ID!) { list(id: $id) { tasks(search: "phrasebook") { title } } }`, { id: listId });
    equal(list.tasks.length, 1, "tasks created by the write and its retry");
    await expectOrder(a2, ["Buy sunscreen", "Book flights", "Pack bags", "Water the plants", "Find a good fado bar", "Buy a phrasebook"]);
    await screenshot(a, "list-final");
  }, [a, a2]);

  await steps.run("A write the server cannot take just now is kept and sent again, not dropped", async () => {
    // The server's answer when a user's database share stays busy past DB_TIMEOUT (a loaded
    // machine): nothing was done, try again later. The app keeps the write and sends it again
    // with its key; dropping it would undo on the page what the user just saw done.
    let refused = 0;
    await a.route(`${urls.api}/graphql`, async (route) => {
      if (refused === 0 && route.request().postData()?.includes("mutation UpdateTask")) {
        refused++;
        await route.fulfill({
          status: 200,
          contentType: "application/json",
          headers: { "access-control-allow-origin": urls.app },
          body: JSON.stringify({
            data: null,
            errors: [{ message: "the user's database share (1 at once) stayed busy", extensions: { code: "SERVICE_UNAVAILABLE" } }],
          }),
        });
      } else {
        await route.fallback();
      }
    });
    await a.getByRole("button", { name: "Edit Pack bags" }).click();
    const editor = a.getByRole("form", { name: "Edit Pack bags" });
    await editor.getByLabel("Notes").fill("Adapters and the passport");
    await editor.getByRole("button", { name: "Save" }).click();
    await expectStatus(a, "Live · all changes saved");
    await a.unroute(`${urls.api}/graphql`);
    equal(refused, 1, "answers that said to try again later");
    const { task } = await aliceApi(`query { task(id: "${ids["Pack bags"]}") { description } }`);
    equal(task.description, "Adapters and the passport", "Pack bags' notes on the server");
    await row(a2, "Pack bags").getByText("Adapters and the passport").waitFor({ timeout: SETTLE });
    // The sidebar's problem line (Next.js's route announcer is an alert too, elsewhere).
    equal(await a.locator("aside").getByRole("alert").count(), 0, "problems shown to Alice");
  }, [a, a2]);

  await steps.run("A live socket outlives its token: closed with 4401, opened again, still live", async () => {
    // The app's JWTs live 20 s here (AUTH_JWT_LIFETIME), and todo-api ends a socket when its
    // token does: Alice's second device has had, or soon has, its socket closed with 4401.
    const deadline = Date.now() + 45_000;
    while (a2Sockets < 2) {
      if (Date.now() > deadline) throw new Error("the socket was never closed and opened again");
      await a2.waitForTimeout(250);
    }
    await a2.locator('[data-testid="sync-status"][data-last-close="4401"]').waitFor();
    await expectStatus(a2, "Live · all changes saved");
    await a.getByLabel("New task title").fill("Learn some Portuguese");
    await a.getByLabel("New task title").press("Enter");
    await expectOrder(a2, ["Buy sunscreen", "Book flights", "Pack bags", "Water the plants", "Find a good fado bar", "Buy a phrasebook", "Learn some Portuguese"]);
  }, [a, a2]);

  await steps.run("Alice sets a reminder a few seconds ahead: a notice and a notification when it comes due", async () => {
    // Notifications are offered, and asked for only from her click (the stand-in grants them).
    equal(await notificationLog(a), { asked: [], shown: [] }, "notifications before any click");
    await a.getByRole("button", { name: "Enable notifications" }).click();
    await a.getByTestId("notifications").filter({ hasText: "Reminders also as notifications" }).waitFor();
    equal((await notificationLog(a)).asked, [true], "permission asks (true: from a click)");

    // Her second device's socket is lost just as the event comes (as when it closes because
    // its token ended): the page never gets the event, and shows the reminder all the same
    // once it has reconnected (the sync after it catches up).
    await a2.evaluate(() => (/** @type {any} */ (window).__e2eLoseReminders = true));
    await a.getByLabel("New task title").fill("Call the taxi");
    await a.getByLabel("New task title").press("Enter");
    await a.getByRole("button", { name: "Edit Call the taxi" }).click();
    const editor = a.getByRole("form", { name: "Edit Call the taxi" });
    // About 3 s ahead, to the second, in the browser's wall-clock time (Berlin). Whenever the
    // save lands, the reminder fires once at that time (or at once, if past by then).
    const at = await a.evaluate(() => {
      const when = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3000);
      // A value at :00 seconds reads back without them; one second on keeps the fill exact.
      if (when.getSeconds() === 0) when.setSeconds(1);
      const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
      const local = `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}T${pad(when.getHours())}:${pad(when.getMinutes())}:${pad(when.getSeconds())}`;
      return { local, instant: when.toISOString().slice(0, 19) };
    });
    await editor.getByLabel("Reminder").fill(at.local);
    await editor.getByRole("button", { name: "Save" }).click();
    await row(a, "Call the taxi").locator(`[data-testid="reminder"] time[datetime^="${at.instant}"]`).waitFor({ timeout: SETTLE });
    // The notice (a socket of hers closed at that moment, its token ended, catches up too).
    await reminderNotice(a, "Call the taxi").waitFor({ timeout: SETTLE });
    await reminderNotice(a2, "Call the taxi").waitFor({ timeout: SETTLE });
    await a2.evaluate(() => (/** @type {any} */ (window).__e2eLoseReminders = false));
    await screenshot(a, "reminder-notice");
    equal((await notificationLog(a)).shown, ["Reminder: Call the taxi"], "browser notifications shown");
    const { list } = await aliceApi(`query($id: ID!) { list(id: $id) { tasks(search: "taxi") { id remindAt remindedAt } } }`, { id: listId });
    const [taxi] = list.tasks;
    if (!taxi.remindAt.startsWith(at.instant)) throw new Error(`remindAt on the server: ${taxi.remindAt}, expected ${at.instant}`);
    if (!taxi.remindedAt || taxi.remindedAt < taxi.remindAt) throw new Error(`fired at ${taxi.remindedAt}, due ${taxi.remindAt}`);
    // Bob edits the list, but the reminder is Alice's (the owner's; nobody is assigned).
    equal(await b.getByTestId("reminder-notice").count(), 0, "reminder notices on Bob's page");

    await reminderNotice(a, "Call the taxi").getByRole("button", { name: "Dismiss the reminder of Call the taxi" }).click();
    await reminderNotice(a, "Call the taxi").waitFor({ state: "detached", timeout: SETTLE });
    // Cleared in the editor: no reminder on the server, no bell on the row.
    await a.getByRole("button", { name: "Edit Call the taxi" }).click();
    await editor.getByRole("button", { name: "Clear reminder" }).click();
    await editor.getByRole("button", { name: "Save" }).click();
    await row(a, "Call the taxi").getByTestId("reminder").waitFor({ state: "detached", timeout: SETTLE });
    await expectStatus(a, "Live · all changes saved");
    const { task } = await aliceApi(`query($id: ID!) { task(id: $id) { remindAt remindedAt } }`, { id: taxi.id });
    equal(task, { remindAt: null, remindedAt: null }, "the reminder after clearing it");
  }, [a, a2, b]);

  await aliceOther.close();
  await aliceContext.close();
  await bobContext.close();
}

/**
 * Alice shares "Trip to Lisbon" by an invite link (the list's Share button), Bob opens the
 * link and joins as an editor, adds a task, and Alice sees it appear without reloading (an
 * editor's task in her list is hers: her subscription hears it).
 * @param {Steps} steps
 * @param {{ alice: Page, bob: Page, urls: { app: string, api: string }, listId: string, aliceApi: ReturnType<typeof apiAs> }} pages
 */
async function shareListByInviteLink(steps, { alice: a, bob: b, urls, listId, aliceApi }) {
  await steps.run("Alice shares the list by invite link; Bob joins and adds a task she sees live", async () => {
    await a.getByRole("button", { name: "Share", exact: true }).click();
    const link = a.getByTestId("invite-link");
    await link.waitFor();
    const url = await link.inputValue();
    if (!url.startsWith(`${urls.app}/invite/`)) throw new Error(`the invite link is ${url}`);
    await screenshot(a, "invite-link");
    await a.getByRole("button", { name: "Close" }).click();

    await b.goto(url);
    await b.waitForURL(`**/lists/${listId}`);
    await b.getByRole("heading", { name: "Trip to Lisbon" }).waitFor();
    await expectText(b, "list-role", "shared with you · editor");
    await b.getByRole("link", { name: "Trip to Lisbon" }).filter({ hasText: "shared" }).waitFor();
    await expectOrder(b, ["Buy sunscreen", "Book flights", "Pack bags", "Water the plants"]);
    await expectStatus(b, "Live · all changes saved");
    await b.getByLabel("New task title").fill("Find a good fado bar");
    await b.getByLabel("New task title").press("Enter");
    await expectStatus(b, "Live · all changes saved");
    await screenshot(b, "shared-list");

    // No reload: her page hears Bob's task (on both backends).
    await expectOrder(a, ["Buy sunscreen", "Book flights", "Pack bags", "Water the plants", "Find a good fado bar"]);
    await screenshot(a, "shared-task-live");
    const { list } = await aliceApi(`query($id: ID!) { list(id: $id) { members { role } tasks(search: "fado") { title } } }`, { id: listId });
    equal(list.members.map((/** @type {any} */ m) => m.role), ["OWNER", "EDITOR"], "the list's members");
    equal(list.tasks.map((/** @type {any} */ t) => t.title), ["Find a good fado bar"], "Bob's task in Alice's list");
  }, [a, b]);
}

/**
 * Alice's browser's Notification API, in place of Chromium's (whose notifications a headless
 * test cannot see): it records each permission request (true when made from a user's click,
 * as browsers require) and each notification; the permission starts undecided, is granted
 * when asked, and lasts the browser session.
 */
function notificationsStandIn() {
  const KEY = "e2e-notification-permission";
  /** @type {{ asked: boolean[], shown: string[] }} */
  const log = { asked: [], shown: [] };
  class StandIn extends EventTarget {
    /** @type {(() => void) | null} */
    onclick = null;
    /** @param {string} title */
    constructor(title) {
      super();
      log.shown.push(title);
    }
    static get permission() {
      return sessionStorage.getItem(KEY) ?? "default";
    }
    static async requestPermission() {
      log.asked.push(navigator.userActivation.isActive);
      sessionStorage.setItem(KEY, "granted");
      return "granted";
    }
    close() {}
  }
  Object.defineProperty(window, "Notification", { value: StandIn, configurable: true, writable: true });
  /** @type {any} */ (window).__e2eNotifications = log;
}

/**
 * Alice's second device's WebSocket, able to lose a reminder: while `__e2eLoseReminders` is
 * set, a message carrying a `REMINDER` event never reaches the page, and the socket closes
 * (the connection lost just then; graphql-ws connects again).
 */
function socketsThatLoseReminders() {
  const Real = window.WebSocket;
  class Losing extends Real {
    /** @param {string | URL} url @param {string | string[]} [protocols] */
    constructor(url, protocols) {
      super(url, protocols);
      // Registered before the page's own listeners: it runs first and can stop them.
      this.addEventListener("message", (event) => {
        const w = /** @type {any} */ (window);
        if (w.__e2eLoseReminders && String(event.data).includes('"REMINDER"')) {
          event.stopImmediatePropagation();
          w.__e2eRemindersLost = (w.__e2eRemindersLost ?? 0) + 1;
          this.close(3000, "e2e: lost with a reminder");
        }
      });
    }
  }
  window.WebSocket = Losing;
}

/** @param {Page} page @returns {Promise<{ asked: boolean[], shown: string[] }>} */
function notificationLog(page) {
  return page.evaluate(() => /** @type {any} */ (window).__e2eNotifications);
}

/** @param {Page} page @param {string} title */
function reminderNotice(page, title) {
  return page
    .getByRole("status", { name: "Reminders" })
    .getByTestId("reminder-notice")
    .filter({ hasText: `Reminder: ${title}` });
}

/** @param {Page} page @param {string} app @param {{ email: string, name: string }} who @param {string} [shot] */
async function signUp(page, app, who, shot) {
  await page.goto(`${app}/`);
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.getByLabel("Name").fill(who.name);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(PASSWORD);
  if (shot) await screenshot(page, shot);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.waitForURL("**/lists/inbox");
}

/** @param {Page} page @param {string} app @param {{ email: string }} who */
async function signIn(page, app, who) {
  await page.goto(`${app}/`);
  await page.waitForURL("**/sign-in");
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await screenshot(page, "sign-in");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL("**/lists/inbox");
}

/** @param {Page} page @param {string} title */
function row(page, title) {
  return page.locator('[data-testid="task-row"]', { has: page.getByText(title, { exact: true }) });
}

/**
 * How long a page may take to show what the server did (an answer, a live event): generous,
 * as CI machines are shared and slow; a passing run never waits for it.
 */
const SETTLE = 15_000;

/**
 * Starts watching `page` for the row titled `title` to match `selector` (checked on every
 * change of the page, inside it, so a state shown only for a moment is seen too); returns the
 * wait for it, which fails if it was not shown within SETTLE.
 * @param {Page} page @param {string} title @param {string} selector
 */
async function watchRow(page, title, selector) {
  const name = `__e2eSeen${++watches}`;
  await page.evaluate(([name, title, selector]) => {
    /** @type {any} */ (window)[name] = new Promise((resolve) => {
      const check = () => {
        const hit = [...document.querySelectorAll(selector)].some(
          (row) => row.querySelector(".title")?.textContent === title,
        );
        if (hit) {
          observer.disconnect();
          resolve(true);
        }
      };
      const observer = new MutationObserver(check);
      observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
      check();
    });
  }, [name, title, selector]);
  /** @param {string} what */
  return async (what) => {
    const seen = await page.evaluate(
      ([name, ms]) => Promise.race([/** @type {any} */ (window)[name], new Promise((r) => setTimeout(() => r(false), Number(ms)))]),
      [name, String(SETTLE)],
    );
    if (!seen) throw new Error(`"${title}" was never shown ${what}`);
  };
}
let watches = 0;

/** The top-level titles shown, in order, until they are `titles` (SETTLE at most). @param {Page} page @param {string[]} titles */
async function expectOrder(page, titles) {
  const shown = () =>
    page.locator('[data-testid="tasks"] > li > [data-testid="task-row"] .title').allTextContents();
  const deadline = Date.now() + SETTLE;
  let last = await shown();
  while (JSON.stringify(last) !== JSON.stringify(titles)) {
    if (Date.now() > deadline) throw new Error(`tasks shown: ${JSON.stringify(last)}, expected ${JSON.stringify(titles)}`);
    await page.waitForTimeout(50);
    last = await shown();
  }
}

/** @param {Page} page @param {string} title @param {string} instant the start of the `dateTime` */
async function expectDue(page, title, instant) {
  await row(page, title).locator(`time[datetime^="${instant}"]`).waitFor({ timeout: SETTLE });
}

/** @param {Page} page @param {string} text */
async function expectStatus(page, text) {
  await page.getByTestId("sync-status").filter({ hasText: text }).waitFor({ timeout: SETTLE });
}

/** @param {Page} page @param {string} testId @param {string} text */
async function expectText(page, testId, text) {
  await page.getByTestId(testId).filter({ hasText: text }).waitFor();
}

/** @param {(query: string, variables?: Record<string, unknown>) => Promise<any>} api @param {string} id */
async function taskState(api, id) {
  const { task } = await api(`query($id: ID!) { task(id: $id) { version dueDate completed completedAt } }`, { id });
  return task;
}
