from django.http import HttpResponse
from django.shortcuts import render


def home(request):
    # anonymous visitors get a session too: a login rotates its key
    if not request.user.is_authenticated:
        request.session["visited"] = "1"
    return render(request, "home.html", {
        "color": request.session.get("color", "-"),
    })


def color(request):
    """Changes the session: /color/?c=red"""
    request.session["color"] = request.GET.get("c", "-")
    return HttpResponse("color set\n", content_type="text/plain")
