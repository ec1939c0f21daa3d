"""A Flask app: GET / greets, POST /echo answers the request body."""
from flask import Flask, request

app = Flask(__name__)


@app.get("/")
def index():
    return "hello from flask"


@app.post("/echo")
def echo():
    return request.get_data(), 200, {"Content-Type": "application/octet-stream"}
