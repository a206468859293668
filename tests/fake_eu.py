"""A local stand-in for the EU DSA Transparency Database's submission API, with scripted faults.

It keeps what it was sent, enforces puid uniqueness per call and across calls as the EU does,
and answers each request with the next scripted fault, if any: a 429, a 500, a 401, a 422
naming a statement, or "store, then drop the connection" (the request arrived; the answer did
not).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeEu:
    def __init__(self, token: str = "eu-token") -> None:
        self.token = token
        self.stored: dict[str, str] = {}  # puid -> uuid
        self.received: list[list[str]] = []  # the puids of every POST, in order
        self.probes: list[str] = []
        self.faults: deque[tuple[str, Any]] = deque()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(raw)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._json(401, {"message": "Unauthenticated."})
                    return False
                return True

            def do_GET(self) -> None:
                if not self._authorised():
                    return
                prefix = "/api/v1/statement/existing-puid/"
                puid = self.path.removeprefix(prefix)
                fake.probes.append(puid)
                if puid in fake.stored:
                    self._json(302, {"message": "statement of reason found", "puid": puid})
                else:
                    self._json(404, {"message": "statement of reason not found", "puid": puid})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                if not self._authorised():
                    return
                statements = body["statements"]
                puids = [s["puid"] for s in statements]
                with fake._lock:
                    fake.received.append(puids)
                    fault = fake.faults.popleft() if fake.faults else None
                    if fault is not None and fault[0] == "status":
                        status, payload, headers = fault[1]
                        if isinstance(payload, str):
                            raw = payload.encode()
                            self.send_response(status)
                            self.send_header("Content-Type", "text/plain")
                            self.send_header("Content-Length", str(len(raw)))
                            for key, value in headers.items():
                                self.send_header(key, value)
                            self.end_headers()
                            self.wfile.write(raw)
                        else:
                            self._json(status, payload, headers)
                        return
                    existing = sorted({p for p in puids if p in fake.stored or puids.count(p) > 1})
                    if existing:
                        self._json(
                            422,
                            {
                                "message": "The platform identifier(s) are not all unique "
                                "within this call.",
                                "errors": {"puid": ["not unique"], "existing_puids": existing},
                            },
                        )
                        return
                    out = []
                    for statement in statements:
                        fake.stored[statement["puid"]] = str(uuid.uuid4())
                        out.append({**statement, "uuid": fake.stored[statement["puid"]]})
                    if fault is not None and fault[0] == "drop":
                        # Stored, but the answer never leaves: the client sees a dead socket.
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    self._json(201, {"statements": out})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/v1"

    def fail_next(
        self, status: int, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        self.faults.append(("status", (status, body if body is not None else {}, headers or {})))

    def drop_next(self) -> None:
        self.faults.append(("drop", None))

    def sent_puids(self) -> list[str]:
        return [p for batch in self.received for p in batch]

    def __enter__(self) -> FakeEu:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
