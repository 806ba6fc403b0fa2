"""`personalize_sdk.assets`: the packaged script and stylesheet, and the tags that include them.
(No browser needed; the browser tests load every page through these tags.)"""

from __future__ import annotations

import gzip
import re
from importlib import resources

import pytest
from markupsafe import Markup

from personalize_sdk import assets
from personalize_sdk._exceptions import ConfigError

SIZE_BUDGET = 6 * 1024  # bytes of gzipped script: it is on every page of the shop


def test_the_assets_are_package_data_read_once():
    static = resources.files("personalize_sdk").joinpath("static")
    assert set(assets.ASSET_NAMES) == {"personalize.js", "personalize.css"}
    for name in assets.ASSET_NAMES:
        assert static.joinpath(name).is_file()
    assert assets.script() == static.joinpath("personalize.js").read_text("utf-8")
    assert assets.stylesheet() == static.joinpath("personalize.css").read_text("utf-8")
    assert assets.script() is assets.script()  # cached, not read per request


def test_the_script_is_a_strict_iife_within_its_size_budget():
    text = assets.script()
    assert text.lstrip().startswith("/*")
    assert '(() => {\n  "use strict";' in text
    assert text.rstrip().endswith("})();")
    assert len(gzip.compress(text.encode(), 9)) <= SIZE_BUDGET


def test_every_class_in_the_stylesheet_is_prefixed():
    text = re.sub(r"/\*.*?\*/", "", assets.stylesheet(), flags=re.S)
    classes = set(re.findall(r"\.(-?[A-Za-z_][\w-]*)", text))
    assert classes
    assert {name for name in classes if not name.startswith("pz")} == set()
    assert {name for name in classes if name != "pz" and not name.startswith("pz-")} == set()


def test_inline_tags_carry_the_nonce():
    tag = assets.script_tag(nonce="r4nd0m+/Base64==")
    assert isinstance(tag, Markup)
    assert tag == Markup(f'<script nonce="r4nd0m+/Base64==">{assets.script()}</script>')
    assert assets.style_tag(nonce="abc-_123") == Markup(
        f'<style nonce="abc-_123">{assets.stylesheet()}</style>'
    )
    assert assets.script_tag() == Markup(f"<script>{assets.script()}</script>")


def test_external_tags_escape_their_urls():
    assert assets.script_tag(src='/s/p.js?v=1&x="y"') == Markup(
        '<script defer src="/s/p.js?v=1&amp;x=&#34;y&#34;"></script>'
    )
    assert assets.script_tag(src="/p.js", nonce="n0nce") == Markup(
        '<script defer src="/p.js" nonce="n0nce"></script>'
    )
    assert assets.style_tag(href="https://cdn.example/p.css") == Markup(
        '<link rel="stylesheet" href="https://cdn.example/p.css">'
    )


@pytest.mark.parametrize(
    "nonce",
    [
        "",
        'abc" onload="alert(1)',
        "abc def",
        "abc<",
        "abc===",
        "=abc",
        "nonce\n",
        "é",
        "a" * 257,
    ],
)
def test_a_nonce_outside_the_base64_alphabet_is_refused(nonce):
    for make in (assets.script_tag, assets.style_tag):
        with pytest.raises(ValueError, match="base64") as caught:
            make(nonce=nonce)
        assert isinstance(caught.value, ConfigError)
        assert caught.value.field == "nonce"


@pytest.mark.parametrize("nonce", [123, b"abc", ["abc"]])
def test_a_nonce_that_is_not_text_is_refused(nonce):
    with pytest.raises(ValueError, match="expected a string"):
        assets.script_tag(nonce=nonce)


@pytest.mark.parametrize(
    "url", ["", "   ", "javascript:alert(1)", " JavaScript:x", "data:text/js,1"]
)
def test_unsafe_or_empty_urls_are_refused(url):
    with pytest.raises(ValueError) as caught:
        assets.script_tag(src=url)
    assert caught.value.field == "src"
    with pytest.raises(ValueError) as caught:
        assets.style_tag(href=url)
    assert caught.value.field == "href"


def test_a_huge_url_is_refused():
    with pytest.raises(ValueError, match="at most"):
        assets.script_tag(src="/" + "a" * 5000)
