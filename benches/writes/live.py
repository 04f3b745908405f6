#!/usr/bin/env python3
"""Live events across instances under write load (issue 41), Python standard library only.

From the repository's root, after seed.sh (tokens.txt: line n+1 is u<n>'s token; ids.txt:
"<user number> <task id>" per seeded task):

  live.py watch --port B --user U --seconds D --ready FILE
      One SSE subscriber (GET /api/u<U>/tasks/events) on port B for D seconds; FILE is
      created once the stream is open (200 and its headers read: the subscription is in place).
      Prints "received N distinct D first F last L resyncs R" of the events' cursors (a
      user's cursors are gap-free in commit order, so the caller compares them with the
      user's change counter before and after).

  live.py latency --write-port A --event-port B --op create|toggle --rate R --seconds D
      SSE subscribers on B for users 0..S-1 (--subscribers S) in a process of their own; then
      REST creates (POST /api/u<n>/tasks) or toggles (PATCH .../<id>/complete of a seeded
      task) sent to A at a fixed rate R (open loop, over --connections keep-alive connections),
      each for a user drawn from all of them, for D seconds; then --drain seconds for the last
      events. A write and its event are matched by (task id, version) from the write's answer
      and the event's task. Latency = the event's arrival on B minus the arrival of the
      write's HTTP answer from A ("from answer"), and minus the moment the request was sent
      ("from sent", the write included). Both clocks are CLOCK_MONOTONIC (time.monotonic),
      one clock for every process of the machine.
"""
import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import random
import sys
import time

DIR = "benches/writes"


def load_tokens():
    with open(f"{DIR}/tokens.txt") as f:
        return [line.strip() for line in f if line.strip()]


def load_ids():
    ids = {}
    with open(f"{DIR}/ids.txt") as f:
        for line in f:
            user, task = line.split()
            ids.setdefault(int(user), []).append(int(task))
    return ids


async def read_head(reader):
    line = await reader.readline()
    if not line:
        raise ConnectionError("connection closed before an answer")
    status = int(line.split()[1])
    headers = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            return status, headers
        key, value = line.decode("latin-1").split(":", 1)
        headers[key.strip().lower()] = value.strip()


async def chunks(reader, headers):
    """The body's pieces as they arrive (chunked, or up to the end of the connection)."""
    if headers.get("transfer-encoding", "").lower() != "chunked":
        while data := await reader.read(65536):
            yield data
        return
    while True:
        size = int((await reader.readline()).split(b";")[0], 16)
        if size == 0:
            await reader.readline()
            return
        data = await reader.readexactly(size)
        await reader.readline()
        yield data


async def read_body(reader, headers):
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    return b"".join([c async for c in chunks(reader, headers)])


async def subscribe(port, user, token, on_event, opened, opening):
    """One SSE stream; calls on_event(user, event JSON, arrival time) for each data message.
    `opening` (a semaphore) bounds the sockets opened at once: the server closes those of one
    address beyond MAX_UNAUTHENTICATED_CONNECTIONS_PER_ADDRESS (64) that have no verified user
    yet."""
    async with opening:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            (
                f"GET /api/u{user}/tasks/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )
        status, headers = await read_head(reader)
    if status != 200:
        body = await reader.read(2000)
        raise RuntimeError(f"SSE for u{user}: {status} {body[:300]!r}")
    opened()
    buf = b""
    async for data in chunks(reader, headers):
        now = time.monotonic()
        buf += data
        while b"\n\n" in buf:
            block, buf = buf.split(b"\n\n", 1)
            lines = block.decode().split("\n")
            payload = "\n".join(l[5:].lstrip() for l in lines if l.startswith("data:"))
            if payload:
                on_event(user, json.loads(payload), now)


async def subscribers(port, users, tokens, stop, opened_all):
    """Subscribers for `users` until stop() is true; the events as (user, event, time)."""
    events = []
    waiting = set(users)

    def opened(user):
        waiting.discard(user)
        if not waiting:
            opened_all()

    opening = asyncio.Semaphore(16)
    tasks = [
        asyncio.create_task(
            subscribe(port, u, tokens[u], lambda *e: events.append(e), lambda u=u: opened(u), opening)
        )
        for u in users
    ]
    while not stop():
        await asyncio.sleep(0.02)
        for t in tasks:
            if t.done() and t.exception():
                raise t.exception()
    for t in tasks:
        t.cancel()
    return events


def watch(args):
    tokens = load_tokens()
    end = [None]

    def opened():
        open(args.ready, "w").close()
        end[0] = time.monotonic() + args.seconds

    events = asyncio.run(
        subscribers(args.port, [args.user], tokens, lambda: end[0] and time.monotonic() > end[0], opened)
    )
    cursors = [int(e["cursor"]) for _, e, _ in events if e.get("cursor") is not None]
    resyncs = sum(1 for _, e, _ in events if e.get("kind") == "RESYNC")
    print(
        f"received {len(cursors)} distinct {len(set(cursors))} "
        f"first {min(cursors, default=0)} last {max(cursors, default=0)} resyncs {resyncs}"
    )


def subscriber_process(port, users, pipe, stop):
    tokens = load_tokens()
    try:
        events = asyncio.run(
            subscribers(port, users, tokens, stop.is_set, lambda: pipe.send("open"))
        )
    except Exception as error:  # told to the parent, which stops
        pipe.send(f"error: {error}")
        return
    pipe.send([(u, e.get("kind"), e.get("id"), (e.get("task") or {}).get("version"), t) for u, e, t in events])


async def http_request(conn, method, path, token, body=None):
    reader, writer = conn
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    writer.write(head.encode() + b"\r\n" + data)
    status, headers = await read_head(reader)
    return status, await read_body(reader, headers)


async def write_load(args, tokens, ids):
    """Open-loop writes at args.rate for args.seconds; one record per write."""
    queue = asyncio.Queue()
    records = []

    async def worker():
        conn = None
        while (item := await queue.get()) is not None:
            number, due = item
            user = random.randrange(len(tokens))
            if args.op == "create":
                method, path, body = "POST", f"/api/u{user}/tasks", {"title": f"live {number}"}
            else:
                task = random.choice(ids[user])
                method, path, body = "PATCH", f"/api/u{user}/tasks/{task}/complete", None
            try:
                if conn is None:
                    conn = await asyncio.open_connection("127.0.0.1", args.write_port)
                sent = time.monotonic()
                status, answer = await http_request(conn, method, path, tokens[user], body)
                done = time.monotonic()
                key = None
                if 200 <= status < 300:
                    task = json.loads(answer)
                    key = (task["id"], task["version"])
                records.append((user, key, due, sent, done, status))
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as error:
                records.append((user, None, due, time.monotonic(), time.monotonic(), repr(error)))
                conn = None

    workers = [asyncio.create_task(worker()) for _ in range(args.connections)]
    start = time.monotonic()
    total = int(args.rate * args.seconds)
    for number in range(total):
        due = start + number / args.rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((number, due))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return records, time.monotonic() - start


def quantiles(values):
    values = sorted(values)
    if not values:
        return "p50 - p99 - max -"
    pick = lambda q: values[max(0, math.ceil(q * len(values)) - 1)]
    return f"p50 {pick(0.5) * 1000:.1f} p99 {pick(0.99) * 1000:.1f} max {values[-1] * 1000:.1f}"


def latency(args):
    tokens, ids = load_tokens(), load_ids()
    watched = list(range(args.subscribers))
    parent, child = mp.Pipe()
    stop = mp.Event()
    proc = mp.Process(target=subscriber_process, args=(args.event_port, watched, child, stop))
    proc.start()
    message = parent.recv() if parent.poll(60) else "no answer in 60 s"
    if message != "open":
        stop.set()
        proc.join(5)
        sys.exit(f"subscribers did not open: {message}")
    records, took = asyncio.run(write_load(args, tokens, ids))
    time.sleep(args.drain)
    stop.set()
    if not parent.poll(60):
        sys.exit("subscribers did not answer")
    events = parent.recv()
    proc.join(5)
    if isinstance(events, str):
        sys.exit(events)
    arrivals = {}
    resyncs = 0
    for user, kind, task, version, at in events:
        if kind == "RESYNC":
            resyncs += 1
        elif task is not None:
            arrivals.setdefault((task, version), at)
    ok = [r for r in records if r[1] is not None]
    errors = len(records) - len(ok)
    mine = [r for r in ok if r[0] < args.subscribers]
    from_answer, from_sent = [], []
    for user, key, due, sent, done, status in mine:
        if key in arrivals:
            from_answer.append(arrivals[key] - done)
            from_sent.append(arrivals[key] - sent)
    lag = quantiles([r[3] - r[2] for r in records]).split()
    first_error = next((r[5] for r in records if r[1] is None), None)
    print(
        f"{args.op}: {len(records)} writes in {took:.1f} s ({len(records) / took:.0f}/s, asked "
        f"{args.rate:g}/s), {errors} errors{f' (first: {first_error})' if first_error else ''}; "
        f"send lag behind schedule p99 {lag[3]} ms"
    )
    print(
        f"  subscribed users' writes {len(mine)}, their events received {len(from_answer)}, "
        f"missing {len(mine) - len(from_answer)}, RESYNC {resyncs}, events in all {len(events)}"
    )
    print(f"  latency from answer (ms): {quantiles(from_answer)}")
    print(f"  latency from sent (ms):   {quantiles(from_sent)}")
    a, s = quantiles(from_answer).split(), quantiles(from_sent).split()
    print(
        f"RESULT writes={len(records)} rate={len(records) / took:.0f} errors={errors} "
        f"watched={len(mine)} received={len(from_answer)} resyncs={resyncs} "
        f"answer_p50={a[1]} answer_p99={a[3]} answer_max={a[5]} "
        f"sent_p50={s[1]} sent_p99={s[3]} sent_max={s[5]}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    w = sub.add_parser("watch")
    w.add_argument("--port", type=int, required=True)
    w.add_argument("--user", type=int, required=True)
    w.add_argument("--seconds", type=float, required=True)
    w.add_argument("--ready", required=True)
    l = sub.add_parser("latency")
    l.add_argument("--write-port", type=int, required=True)
    l.add_argument("--event-port", type=int, required=True)
    l.add_argument("--op", choices=["create", "toggle"], default="create")
    l.add_argument("--rate", type=float, required=True)
    l.add_argument("--seconds", type=float, default=10)
    l.add_argument("--subscribers", type=int, default=100)
    l.add_argument("--connections", type=int, default=64)
    l.add_argument("--drain", type=float, default=3)
    args = parser.parse_args()
    os.chdir(os.path.dirname(os.path.abspath(__file__)) + "/../..")
    watch(args) if args.mode == "watch" else latency(args)


if __name__ == "__main__":
    main()
