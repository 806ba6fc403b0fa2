"""The shop's routes, the same as the Starlette shop's, and the personalize beacon and assets."""

from __future__ import annotations

from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home),
    path("c/<str:name>", views.category),
    path("p/<str:product_id>", views.product),
    path("search", views.search),
    path("cart", views.cart),
    path("cart/add", views.add),
    path("cart/remove", views.remove),
    path("checkout", views.checkout),
    path("order/<str:order_id>", views.order),
    path("signin", views.signin),
    path("market", views.market),
    path("img/<str:product_id>.svg", views.image),
    path("_personalize/", include("personalize_sdk.integrations.django.urls")),
]

handler404 = "personalize_sdk.examples.django_shop.views.not_found"
