"""Django settings of the `http` benchmark: the example shop's own (``settings_plain`` for the
``without`` variant), with the benchmark's `Personalizer` (``BENCH_HTTP_VARIANT``)."""

from __future__ import annotations

import os

if os.environ.get("BENCH_HTTP_VARIANT") == "without":
    from personalize_sdk.examples.django_shop.settings_plain import *  # noqa: F403
else:
    from personalize_sdk.examples.django_shop.settings import *  # noqa: F403

    from ._http_apps import personalizer

    PERSONALIZE = {"personalizer": personalizer(os.environ.get("BENCH_HTTP_VARIANT", "two"))}
