"""WSGI fixture apps of the WSGI suite, one module per scenario; launch.py serves one."""
