"""The URL configuration of djangoapp.py: two views."""
from django.http import HttpResponse, HttpResponseNotAllowed
from django.urls import path


def index(request):
    return HttpResponse("hello from django", content_type="text/plain")


def echo(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return HttpResponse(request.body, content_type="application/octet-stream")


urlpatterns = [
    path("", index),
    path("echo", echo),
]
