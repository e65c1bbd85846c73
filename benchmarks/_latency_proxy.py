"""A TCP proxy on 127.0.0.1 that delays every request by a fixed time, to emulate a network.

Azurite on the same machine answers in about a millisecond, so a sequential loop of requests is
limited by CPU, not by waiting; a real storage account is a network round trip away (5-20 ms in
the same region), which is what concurrent reads hide. The proxy forwards every connection to
the target port, holding each chunk the client sends (an HTTP request) for ``--delay-ms`` before
passing it on; answers flow back at once.

Run as its own process (so it never competes for the benchmark's GIL)::

    python benchmarks/_latency_proxy.py --target-port 10000 --delay-ms 10
    # prints "listening on <port>" once ready; stops on SIGTERM
"""

from __future__ import annotations

import argparse
import asyncio
import signal


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    try:
        while True:
            chunk = await reader.read(1 << 16)
            if not chunk:
                break
            if delay:
                await asyncio.sleep(delay)
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def _serve(target_port: int, delay: float) -> None:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, upstream_writer, delay),
                             _pipe(upstream_reader, client_writer, 0.0))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target-port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, required=True)
    args = parser.parse_args()
    asyncio.run(_serve(args.target_port, args.delay_ms / 1000))


if __name__ == "__main__":
    main()
