#!/usr/bin/env python3
"""download_server.py -- a misbehaving HTTP server on 127.0.0.1 for spec/20-download_spec.lua.

usage: download_server.py DIR PORTFILE [LIFETIME_S]

Binds 127.0.0.1 on a free port, then writes "<port> <dead_port>" to PORTFILE (dead_port: a port
that was free a moment ago and has nothing listening, for "connection refused"). Serves files of
DIR in the ways a broken mirror fails, until killed or LIFETIME_S (default 120) has passed, so a
spec that dies cannot leave it running:

  /file/NAME       the file, intact
  /trunc/NAME      announces the full Content-Length, sends half of the body, closes
  /stall/NAME      announces the full Content-Length, sends 16 bytes, then goes silent
  /redirect/NAME   302 to /file/NAME
  /status/CODE     answers with that HTTP status
"""
import http.server
import os
import socket
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep the spec's output clean
        pass

    def _body(self, name):
        path = os.path.join(self.server.root, os.path.basename(name))
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:
            return None

    def _head(self, code, length, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()

    def do_GET(self):
        parts = self.path.split("/", 2)
        kind, arg = (parts[1], parts[2]) if len(parts) == 3 else ("", "")
        if kind == "status" and arg.isdigit():
            body = b"status page\n"
            self._head(int(arg), len(body))
            self.wfile.write(body)
            return
        if kind == "redirect":
            self._head(302, 0, [("Location", "/file/" + arg)])
            return
        body = self._body(arg) if kind in ("file", "trunc", "stall") else None
        if body is None:
            self._head(404, 0)
            return
        self._head(200, len(body))
        if kind == "file":
            self.wfile.write(body)
        elif kind == "trunc":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        else:  # stall: hold the connection open, silent, until the client gives up
            self.wfile.write(body[:16])
            self.wfile.flush()
            self.connection.settimeout(30)
            try:
                self.connection.recv(1)
            except OSError:
                pass
            self.close_connection = True


def main():
    root, portfile = sys.argv[1], sys.argv[2]
    lifetime = float(sys.argv[3]) if len(sys.argv) > 3 else 120.0
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.root = root
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (srv.server_address[1], dead_port))
    os.rename(tmp, portfile)  # the reader never sees a half-written line
    threading.Timer(lifetime, lambda: os._exit(0)).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
