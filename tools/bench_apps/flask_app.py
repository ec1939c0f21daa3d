"""B: the Flask hello world for tools/bench (served as flask_app:app)."""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, World!"
