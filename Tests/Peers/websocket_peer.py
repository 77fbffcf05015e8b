#!/usr/bin/env python3
"""WebSocket peers for the gateway's tests, on the `websockets` package from PyPI (its asyncio implementation).

server --cert PEM --key KEY
    A TLS WebSocket server on 127.0.0.1 (a kernel-chosen port, printed as `listening PORT`). On /echo it sends
    every message back as it came (text as text, binary as binary); on /drop it answers one message, then
    aborts its TCP connection without a closing handshake (a backend that goes away).

client --port P --ca PEM [--path /echo] [--messages N] [--bytes B] [--hold]
    Connects to wss://gateway.test:P (TCP to 127.0.0.1, the certificate checked against PEM). Sends N messages,
    text and binary alternately, B bytes in all (sizes pseudo-random, fixed seed), while reading their echoes; checks
    each echo is the message sent, in order and of its type. Prints one JSON line: `{"status": 101, "messages":
    N, "bytes": B, "intact": true, "seconds": S}`, or `{"status": 502}` when the gateway refused the upgrade.
    With --hold: sends one message, prints `{"open": true}`, then waits (at most 20 s) for the connection to end
    and prints `{"closed": true, "code": C, "after": S}`.

Exit status: 0 when everything came back intact (or, with --hold, the connection ended), 1 otherwise, 3 when the
handshake was refused.
"""
import argparse
import asyncio
import json
import random
import ssl
import sys
import time

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed, InvalidStatus


async def handle(websocket):
    path = websocket.request.path
    try:
        if path == "/drop":
            message = await websocket.recv()
            await websocket.send(message)
            await asyncio.sleep(0.2)
            websocket.transport.abort()
            return
        async for message in websocket:
            await websocket.send(message)
    except ConnectionClosed:
        pass


async def run_server(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    async with serve(handle, "127.0.0.1", 0, ssl=context, max_size=None, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening {port}", flush=True)
        await asyncio.Future()


def messages(count, total):
    """`count` messages of `total` bytes in all, text (UTF-8, some of it two-byte characters) and binary alternately."""
    rng = random.Random(6455)
    weights = [rng.random() + 0.05 for _ in range(count)]
    scale = total / sum(weights)
    sizes = [int(weight * scale) for weight in weights]
    sizes[-1] += total - sum(sizes)
    out = []
    for index, size in enumerate(sizes):
        if index % 2 == 0:
            pairs, single = divmod(size, 3)
            text = "".join(rng.choice("abcxyz") + "\u00e9" for _ in range(pairs)) + "q" * single
            assert len(text.encode()) == size
            out.append(text)
        else:
            out.append(rng.randbytes(size))
    return out


async def run_client(args):
    context = ssl.create_default_context(cafile=args.ca)
    uri = f"wss://gateway.test:{args.port}{args.path}"
    started = time.monotonic()
    try:
        async with connect(uri, host="127.0.0.1", port=args.port, ssl=context, max_size=None, compression=None,
                           proxy=None, open_timeout=20, ping_interval=None) as websocket:
            if args.hold:
                await websocket.send("hello")
                await websocket.recv()
                print(json.dumps({"open": True}), flush=True)
                began = time.monotonic()
                code = None
                try:
                    await asyncio.wait_for(websocket.wait_closed(), 20)
                except asyncio.TimeoutError:
                    print(json.dumps({"closed": False}), flush=True)
                    return 1
                code = websocket.close_code
                print(json.dumps({"closed": True, "code": code, "after": time.monotonic() - began}), flush=True)
                return 0
            sent = messages(args.messages, args.bytes)

            async def send_all():
                for message in sent:
                    await websocket.send(message)

            sender = asyncio.create_task(send_all())
            intact = True
            for message in sent:
                echo = await asyncio.wait_for(websocket.recv(), 60)
                if type(echo) is not type(message) or echo != message:
                    intact = False
                    break
            await sender
            print(json.dumps({"status": 101, "messages": len(sent), "bytes": args.bytes, "intact": intact,
                              "seconds": round(time.monotonic() - started, 3)}), flush=True)
            return 0 if intact else 1
    except InvalidStatus as error:
        print(json.dumps({"status": error.response.status_code}), flush=True)
        return 3
    except ConnectionClosed as error:
        print(json.dumps({"status": 101, "intact": False, "error": str(error)}), flush=True)
        return 1


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    server = sub.add_parser("server")
    server.add_argument("--cert", required=True)
    server.add_argument("--key", required=True)
    client = sub.add_parser("client")
    client.add_argument("--port", type=int, required=True)
    client.add_argument("--ca", required=True)
    client.add_argument("--path", default="/echo")
    client.add_argument("--messages", type=int, default=1000)
    client.add_argument("--bytes", type=int, default=16 << 20)
    client.add_argument("--hold", action="store_true")
    args = parser.parse_args()
    if args.mode == "server":
        asyncio.run(run_server(args))
        return 0
    return asyncio.run(run_client(args))


if __name__ == "__main__":
    sys.exit(main())
