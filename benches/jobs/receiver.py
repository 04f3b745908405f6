#!/usr/bin/env python3
"""Webhook receivers for the bench: one listener per port given, answering every POST with 204
(HTTP/1.1, keep-alive) and counting them (printed on SIGTERM). Loopback only; stops when
killed. asyncio with a bare protocol, not http.server: a receiver runs on another machine in
production, so on the bench's 2 cores it should take as little CPU as it can (http.server
took ~0.3 ms a request, a third of a core at the rate the worker delivers)."""
import asyncio
import signal
import sys

counts = {}
ANSWER = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"


class Receiver(asyncio.Protocol):
    def __init__(self, port):
        self.port = port
        self.buffer = b""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            counts[self.port] = counts.get(self.port, 0) + 1
            self.transport.write(ANSWER)


async def main(ports):
    loop = asyncio.get_running_loop()
    for port in ports:
        await loop.create_server(lambda p=port: Receiver(p), "127.0.0.1", port)
    stopped = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopped.set)
    await stopped.wait()
    print("received:", sum(counts.values()), counts, flush=True)


asyncio.run(main([int(p) for p in sys.argv[1:]]))
