"""Records every HTTP answer a test process receives, so that tests/api/check_responses.mjs can
validate each one against docs/openapi.yaml (docs/service.md, "The API document").

Importing this module does nothing unless DC_API_RECORD names a directory (ctest sets it to the
build directory's api-responses/). Then every exchange made through http.client (HTTP and
HTTPS, whichever test helper made it) is appended as one JSON line to
DC_API_RECORD/<script>[-pg]-<pid>.jsonl:

  {"method", "path" (as sent, with its query), "status", "content_type", "body"}

where body is the text received (of a body that is not JSON, its first 256 characters), or null
when there is none to check (HEAD, 204, 304, an event stream, or a body the test never read). Events read from /v1/events are recorded by the reader
(record_event) as {"method": "GET", "path": "/v1/events", "event", "id", "data"}.

The standard library only; recording never changes what a test sees."""
import http.client
import json
import os
import sys
import threading

DIR = os.environ.get("DC_API_RECORD") or None
_lock = threading.Lock()
_out = None


def _write(rec):
    global _out
    with _lock:
        if _out is None:
            os.makedirs(DIR, exist_ok=True)
            script = os.path.splitext(os.path.basename(sys.argv[0] or "python"))[0]
            pg = "-pg" if os.environ.get("DC_TEST_PG_URL") else ""
            _out = open(os.path.join(DIR, f"{script}{pg}-{os.getpid()}.jsonl"), "a")
        _out.write(json.dumps(rec) + "\n")
        _out.flush()


_other_ports = set()


def not_the_service(port):
    """Exchanges with another program a test runs on this port (a Prometheus server, say) are
    not deconflictd's answers: they are not recorded."""
    _other_ports.add(int(port))


def record_event(event, event_id, data):
    """One event received on a /v1/events stream; data is its text as received."""
    if DIR:
        _write({"method": "GET", "path": "/v1/events", "event": event, "id": event_id,
                "data": data})


def _finish(resp, complete):
    rec = resp.__dict__.pop("_dc_rec", None)
    if rec is None:
        return
    buf = resp.__dict__.pop("_dc_buf", b"")
    text = bytes(buf).decode("utf-8", "replace") if complete else None
    # Only JSON is validated; of anything else (pages, scripts, metrics) the start is enough.
    rec["body"] = text if text is None or "json" in rec["content_type"] else text[:256]
    _write(rec)


def _install():
    orig_putrequest = http.client.HTTPConnection.putrequest
    orig_getresponse = http.client.HTTPConnection.getresponse
    orig_read = http.client.HTTPResponse.read
    orig_close = http.client.HTTPResponse.close

    def putrequest(self, method, url, *args, **kwargs):
        self._dc_request = (method, url)
        return orig_putrequest(self, method, url, *args, **kwargs)

    def getresponse(self):
        resp = orig_getresponse(self)
        if self.port in _other_ports:
            return resp
        method, url = getattr(self, "_dc_request", ("?", "?"))
        ctype = resp.getheader("Content-Type", "")
        rec = {"method": method, "path": url, "status": resp.status, "content_type": ctype}
        if method == "HEAD" or resp.status in (204, 304) or ctype.startswith("text/event-stream"):
            rec["body"] = None
            _write(rec)
        else:
            resp._dc_rec, resp._dc_buf = rec, bytearray()
        return resp

    def read(self, amt=None):
        data = orig_read(self, amt)
        if "_dc_rec" in self.__dict__:
            self._dc_buf += data
            if amt is None or self.fp is None or (amt and not data):
                _finish(self, True)
        return data

    def close(self):
        _finish(self, False)  # closed before its body was read to the end: status and type only
        orig_close(self)

    http.client.HTTPConnection.putrequest = putrequest
    http.client.HTTPConnection.getresponse = getresponse
    http.client.HTTPResponse.read = read
    http.client.HTTPResponse.close = close


if DIR:
    _install()
