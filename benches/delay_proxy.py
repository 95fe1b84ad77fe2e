#!/usr/bin/env python3
"""A TCP proxy that stands in for a slow link (these machines have no netem): every chunk is
held RTT/2 in each direction, in order, so a client that waits for a reply pays one RTT. It
also counts the client's turns: a run of client bytes after server bytes is one turn, and every
turn after the first waited for the server, so turns are round trips whatever the timing.

  delay_proxy.py LISTEN_PORT UPSTREAM_PORT RTT_MS STATS_FILE
      Serves 127.0.0.1:LISTEN_PORT until killed; after each connection closes, appends
      `turns=N` to STATS_FILE.
"""

import asyncio
import sys


async def pipe(reader, writer, delay, turn):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def send():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            pause = due - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            writer.write(data)
            await writer.drain()
        try:
            writer.write_eof()
        except OSError:
            pass

    sender = asyncio.create_task(send())
    while True:
        data = await reader.read(65536)
        if not data:
            break
        turn(data)
        queue.put_nowait((loop.time() + delay, data))
    queue.put_nowait((0, None))
    await sender


async def main(listen, upstream, rtt_ms, stats):
    delay = rtt_ms / 2000

    async def handle(c_reader, c_writer):
        s_reader, s_writer = await asyncio.open_connection("127.0.0.1", upstream)
        state = {"last": None, "turns": 0}

        def seen(from_client):
            def note(_data):
                if from_client and state["last"] is not True:
                    state["turns"] += 1
                state["last"] = from_client

            return note

        await asyncio.gather(
            pipe(c_reader, s_writer, delay, seen(True)),
            pipe(s_reader, c_writer, delay, seen(False)),
            return_exceptions=True,
        )
        c_writer.close()
        s_writer.close()
        with open(stats, "a") as f:
            f.write(f"turns={state['turns']}\n")

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]))
