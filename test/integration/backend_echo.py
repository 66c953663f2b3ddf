"""A tiny application for the tests of the mod_proxy recipe: an HTTP server
on 127.0.0.1:PORT (argv[1]) that answers every GET with the request headers
it received, as JSON ({"x-session": ["..."], ...}: every value of each
name, so a header sent twice shows).  /login also answers with
"X-Replace-Session: user=bob" (mod_session's SessionHeader), as an
application that changes the session would."""

import http.server
import json
import sys


class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        seen = {}
        for name in self.headers.keys():
            seen.setdefault(name.lower(), self.headers.get_all(name))
        body = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.path.startswith("/login"):
            self.send_header("X-Replace-Session", "user=bob")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
