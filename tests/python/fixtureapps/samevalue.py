"""Says whether a header's environ value is the very str object the last request had:
``app`` keeps the last value of HTTP_X_SAME_VALUE (so that it stays alive) and answers JSON
with the value and ``same_object`` (an ``is`` comparison with the kept one)."""
import json

_kept = {}


def app(environ, start_response):
    value = environ.get("HTTP_X_SAME_VALUE")
    same = "value" in _kept and _kept["value"] is value
    _kept["value"] = value
    body = json.dumps({"value": value, "same_object": same}).encode("ascii")
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
