"""The SDK's routes. Mount them at the ``prefix`` setting (default ``/_personalize``):

    urlpatterns = [..., path("_personalize/", include("personalize_sdk.integrations.django.urls"))]

giving ``{prefix}/beacon`` (the widgets' ``[widgets] beacon_url``) and
``{prefix}/static/personalize.js|css``. The system checks warn when the two disagree.
"""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "personalize"

urlpatterns = [
    path("beacon", views.beacon, name="beacon"),
    path("static/<str:name>", views.static, name="static"),
]
