"""The example shop on Django: the same routes, pages and widgets as the Starlette one.

    personalize demo --shop django        # serves `asgi.application` under uvicorn

No database and no ``manage.py``: the shop keeps carts in memory, and ``settings`` holds only
what the personalize app, its middleware and the Jinja2 backend need.
"""
