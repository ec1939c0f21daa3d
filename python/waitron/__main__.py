"""``python -m waitron``: the waitron-serve command, exiting with its status.

(``python -m waitress`` always exits 0; this one returns 1 for usage errors.)
"""

import sys

from waitron.runner import run

if __name__ == "__main__":
    # argv[0] would be this file's path; name the command as it was typed instead.
    sys.exit(run(["python -m waitron"] + sys.argv[1:]))
