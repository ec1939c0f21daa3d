"""waitron: a fast, strict HTTP/1.1 server for WSGI applications (placeholder)."""
