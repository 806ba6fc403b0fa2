"""Example shops, one per framework, over one sample catalog and one campaign file (installed
as ``personalize_sdk.examples``; ``personalize demo`` serves the Starlette one).

- `examples.shop`: the storefront itself, framework-neutral (catalog, carts, orders, events);
- `examples.starlette_shop`, `examples.flask_shop`, `examples.django_shop`: the same shop
  wired into each framework with its personalize integration;
- ``data/``: ``catalog.json`` (64 products, 8 categories, 15 brands, USD and EUR prices) and
  ``personalize.toml`` (a campaign of every widget kind);
- ``templates/``: the Jinja2 templates all three render.
"""
