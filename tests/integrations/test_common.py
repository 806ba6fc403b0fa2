"""The framework-neutral pieces every adapter shares: settings, the visitor cookie, pages, the
hardened beacon, the request handle and the static files."""

from __future__ import annotations

import json

import pytest

from personalize_sdk import ConfigError, Page, Personalizer
from personalize_sdk.integrations._beacon import RateLimiter, answer_beacon, same_origin
from personalize_sdk.integrations._handle import RequestPersonalize
from personalize_sdk.integrations._pages import PageResolver, device
from personalize_sdk.integrations._settings import IntegrationSettings, build
from personalize_sdk.integrations._static import static_file
from personalize_sdk.integrations._visitor import (
    Visitor,
    _checked,
    cookie_values,
    request_visitor,
    set_cookie_header,
    shared_cacheable,
    visitor_from_cookie,
    visitor_from_header,
)
from tests.helpers import Clock

SECRET = "integration-secret-0123456789"
BAR = {"id": "bar", "kind": "hello_bar", "text": "Hi {{ first_name or 'there' }}"}
SHOWN = json.dumps({"events": [{"type": "shown", "campaign": "bar", "variant": "default"}]})


@pytest.fixture
def pz(clock: Clock) -> Personalizer:
    return Personalizer({"campaigns": [BAR]}, clock=clock, secret=SECRET)


def test_settings_from_a_mapping() -> None:
    pz, settings = build({"secret": SECRET, "prefix": "/pz", "beacons_per_minute": 5})
    assert isinstance(pz, Personalizer) and not pz.secret_is_ephemeral
    assert (settings.beacon_path, settings.static_prefix) == ("/pz/beacon", "/pz/static/")
    given, _ = build({"personalizer": pz})
    assert given is pz
    for bad in ({"prefix": "pz"}, {"cookie_name": "a b"}, {"beacons_per_minute": 0},
                {"colour": "red"}, {"personalizer": pz, "secret": SECRET}):  # fmt: skip
        with pytest.raises(ConfigError):
            build(bad)


class TestVisitorCookie:
    def test_round_trip(self, pz: Personalizer) -> None:
        visitor = visitor_from_cookie(None, pz.signer)
        assert visitor.is_new and visitor.id.startswith("v-")
        header = set_cookie_header(visitor, pz.signer, IntegrationSettings(), https=True)
        name, value = header.split(";")[0].split("=", 1)
        assert name == "pz_vid"
        assert {"HttpOnly", "SameSite=Lax", "Secure", "Path=/"} <= {
            part.strip() for part in header.split(";")
        }
        again = visitor_from_cookie(value, pz.signer)
        assert (again.id, again.is_new) == (visitor.id, False)

    def test_secure_follows_the_scheme_unless_set(self, pz: Personalizer) -> None:
        visitor = visitor_from_cookie(None, pz.signer)
        assert "Secure" not in set_cookie_header(visitor, pz.signer, IntegrationSettings(),
                                                 https=False)  # fmt: skip
        forced = IntegrationSettings(cookie_secure=True)
        assert "Secure" in set_cookie_header(visitor, pz.signer, forced, https=False)

    @pytest.mark.parametrize(
        "cookie",
        ["", "garbage", "v-abc", "v-abc.AAAA", "x" * 5000, "v-é.x", "u-42.forged", None],
    )
    def test_anything_not_ours_is_a_new_visitor(self, pz: Personalizer, cookie: str) -> None:
        visitor = visitor_from_cookie(cookie, pz.signer)
        assert visitor.is_new and visitor.id.startswith("v-")

    def test_another_shops_cookie_is_not_ours(self, pz: Personalizer) -> None:
        other = Personalizer(secret="another-shop-secret-12345")
        signed = other.signer.sign("v-from-elsewhere")
        assert visitor_from_cookie(signed, pz.signer).is_new

    def test_the_longest_valid_cookie_is_ours_and_a_longer_one_is_not_remembered(
        self, pz: Personalizer
    ) -> None:
        longest = "v-" + "x" * 62
        signed = pz.signer.sign(longest)
        assert visitor_from_cookie(signed, pz.signer) == Visitor(longest, False, signed)
        remembered = _checked.cache_info().currsize
        for value in (signed + "x", "y" * 16_000):
            assert visitor_from_cookie(value, pz.signer).is_new
        assert _checked.cache_info().currsize == remembered

    def test_of_several_values_the_first_that_verifies(self, pz: Personalizer) -> None:
        header = 'a=1; pz_vid=junk; pz_vid2=x; pz_vid="v-1.q"; pz_vid=' + pz.signer.sign("v-2")
        assert list(cookie_values(header, "pz_vid")) == ["junk", "v-1.q", pz.signer.sign("v-2")]
        assert visitor_from_header(header, "pz_vid", pz.signer).id == "v-2"
        both = f"pz_vid={pz.signer.sign('v-3')}; pz_vid={pz.signer.sign('v-4')}"
        assert visitor_from_header(both, "pz_vid", pz.signer).id == "v-3"
        assert visitor_from_header("pz_vid=junk", "pz_vid", pz.signer).is_new
        assert list(cookie_values(None, "pz_vid")) == []

    def test_cookie_headers_joined_with_commas(self, pz: Personalizer) -> None:
        signed = pz.signer.sign("v-5")
        header = f"theme=dark,pz_vid={signed},lang=en"  # Django's ASGI join of HTTP/2's headers
        assert list(cookie_values(header, "pz_vid")) == [signed]
        assert visitor_from_header(f"a=1; b=2,pz_vid={signed}", "pz_vid", pz.signer).id == "v-5"


def test_pages_from_patterns_a_hook_and_the_user_agent() -> None:
    resolver = PageResolver(IntegrationSettings())
    assert resolver.page("/").type == "home"
    assert resolver.page("/p/sku-1").type == "product"
    assert resolver.page("/search", query="shoes").query == "shoes"
    assert resolver.page("/about").type == "other"
    hooked = PageResolver(IntegrationSettings(page_type=lambda p: "pdp" if "/item/" in p else None))
    assert hooked.page("/item/9").type == "pdp" and hooked.page("/cart").type == "cart"
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
    assert (device(iphone), device("Mozilla/5.0 (iPad; CPU OS 17_0)"), device(None)) == (
        "mobile", "tablet", None,
    )  # fmt: skip
    assert device("Mozilla/5.0 (X11; Linux x86_64) Chrome/120") == "desktop"
    assert len(resolver.page("/" + "a" * 5000).path) == 2048


def test_same_origin() -> None:
    assert same_origin("https://shop.example", None, "shop.example")
    assert same_origin(None, "https://shop.example/p/1?x=1", "shop.example")
    assert same_origin("http://127.0.0.1:8000", None, "127.0.0.1:8000")
    assert not same_origin("https://evil.example", "https://shop.example/", "shop.example")
    assert not same_origin(None, None, "shop.example")
    assert not same_origin("null", None, "shop.example")
    assert not same_origin("https://shop.example", None, None)
    assert not same_origin("http://[::1", None, "shop.example")


def test_the_rate_limiter_refills_over_a_minute() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=3, timer=lambda: now[0])
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")  # per key
    now[0] += 20.0  # a third of a minute: one more
    assert limiter.allow("a") and not limiter.allow("a")


class TestBeacon:
    def ask(self, pz: Personalizer, limiter: RateLimiter | None = None, **overrides: object):  # type: ignore[no-untyped-def]
        settings = IntegrationSettings(beacons_per_minute=2)
        request = {"method": "POST", "visitor_id": "v-1", "origin": "https://shop.example",
                   "referer": None, "host": "shop.example", "body": SHOWN.encode()}  # fmt: skip
        request.update(overrides)
        return answer_beacon(pz, settings, limiter or RateLimiter(2), **request)  # type: ignore[arg-type]

    def test_accepted(self, pz: Personalizer) -> None:
        assert self.ask(pz).status == 204
        assert pz.profile("v-1").exposures["bar"].shown == 1

    @pytest.mark.parametrize(
        ("overrides", "status"),
        [
            ({"method": "GET"}, 405),
            ({"origin": "https://evil.example"}, 403),
            ({"origin": None}, 403),
            ({"visitor_id": None}, 403),
            ({"body": b"x" * 9000}, 413),
            ({"body": b"{not json"}, 400),
            ({"body": json.dumps({"type": "shown", "campaign": "nope", "variant": "a"}).encode()},
             400),
        ],
    )  # fmt: skip
    def test_refusals_record_nothing(
        self, pz: Personalizer, overrides: dict[str, object], status: int
    ) -> None:
        answer = self.ask(pz, **overrides)
        assert answer.status == status
        assert "error" in json.loads(answer.body) or "rejected" in json.loads(answer.body)
        assert pz.profile("v-1").exposures == {}

    def test_rate_limited(self, pz: Personalizer) -> None:
        limiter = RateLimiter(2)
        statuses = [self.ask(pz, limiter).status for _ in range(3)]
        assert statuses == [204, 204, 429]
        assert pz.profile("v-1").exposures["bar"].shown == 2


def test_the_request_handle(pz: Personalizer) -> None:
    handle = RequestPersonalize(pz, "v-1", Page(type="home"))
    handle.track("Product Viewed", {"product_id": "p1", "category": "watches"})
    handle.identify("u-1", {"first_name": "Ann"})
    assert handle.user_id == "u-1" and handle.profile.traits["first_name"] == "Ann"
    assert "Hi Ann" in handle.render("top")
    assert handle.render("top").__html__() == str(handle.render("top"))
    assert [w.campaign_id for w in handle.widgets()] == ["bar"]
    assert isinstance(handle.segments, frozenset)


def test_a_new_visitor_at_logout(pz: Personalizer) -> None:
    noted: list[str] = []
    pz.store.note_new_visitor = noted.append  # type: ignore[attr-defined]
    handle = RequestPersonalize(pz, "v-1", Page(type="home"))
    handle.identify("u-1", {"first_name": "Ann"})
    signed_in = handle.visitor_id
    assert "Hi Ann" in handle.render("top")
    fresh = handle.start_new_visitor()
    assert handle.new_visitor == Visitor(fresh, True) and noted[-1] == fresh
    assert (handle.visitor_id, handle.user_id) == (fresh, None)
    assert "Hi there" in handle.render("top")  # decided afresh, for the new visitor
    assert pz.profile(user_id="u-1").traits["first_name"] == "Ann"  # the customer's is kept
    # A copy of the cookie from before the logout no longer opens it.
    assert pz.profile(signed_in).user_id is None and "Hi there" in pz.render(
        signed_in, Page(type="home")
    )


def test_a_login_gives_the_browser_a_new_visitor_id(pz: Personalizer) -> None:
    # As Django cycles the session key: a cookie planted or copied before the login (a shared
    # kiosk) must not open the customer's profile afterwards.
    pz.track("v-planted", "Product Viewed", {"product_id": "sku-1"})
    handle = RequestPersonalize(pz, "v-planted", Page(type="home"))
    handle.identify("u-1", {"first_name": "Ann"})
    fresh = handle.new_visitor
    assert fresh is not None and fresh.is_new and handle.visitor_id == fresh.id != "v-planted"
    assert pz.profile(fresh.id).user_id == "u-1"  # the new cookie is the customer's
    assert pz.profile(user_id="u-1").recently_viewed == ("sku-1",)  # the history joined
    planted = pz.profile("v-planted")
    assert planted.user_id is None and planted.recently_viewed == ()
    assert "Hi Ann" in handle.render("top")
    # Again for the customer already signed in on this request: the traits only.
    handle.identify("u-1", {"last_name": "Lee"})
    assert handle.new_visitor == fresh and pz.profile(fresh.id).traits["last_name"] == "Lee"


def test_a_login_rotates_the_visitor_id_even_when_the_traits_are_refused(pz: Personalizer) -> None:
    # A customer synced from a CRM with a profile full of traits: identify links the visitor
    # and refuses the new traits; the planted cookie must not stay linked for it.
    pz.identify(None, user_id="u-1", traits={f"t{n}": n for n in range(200)})
    handle = RequestPersonalize(pz, "v-planted", Page(type="home"))
    handle.identify("u-1", {"one_more": 1})
    assert handle.new_visitor is not None and handle.user_id == "u-1"
    assert pz.profile(handle.visitor_id).user_id == "u-1"
    assert pz.profile("v-planted").user_id is None


def test_a_login_with_traits_of_a_wrong_type_keeps_the_visitors_history(
    pz: Personalizer,
) -> None:
    pz.track("v-1", "Product Added", {"product_id": "sku-1", "price": 10.0, "quantity": 1})
    handle = RequestPersonalize(pz, "v-1", Page(type="home"))
    assert handle.identify("u-1", {"email": 42}) is None  # the traits refused, and said so
    assert handle.user_id == "u-1" and handle.new_visitor is not None
    customer = pz.profile(user_id="u-1")
    assert [item.product_id for item in customer.cart.items] == ["sku-1"]  # not left behind
    assert "email" not in customer.traits and pz.profile("v-1").user_id is None


def test_static_files() -> None:
    script = static_file("personalize.js")
    assert script is not None and script.content_type.startswith("text/javascript")
    assert script.etag.startswith('"') and static_file("personalize.js") is script
    assert static_file("personalize.css").content_type.startswith("text/css")  # type: ignore[union-attr]
    assert static_file("../../etc/passwd") is None and static_file("") is None


def test_a_request_decides_its_slots_once_and_afresh_after_it_tracks():
    config = {"campaigns": [
        {"id": "bar", "kind": "hello_bar", "text": "Hi"},
        {"id": "seen", "kind": "recently_viewed", "title": "Seen"},
    ]}  # fmt: skip
    pz = Personalizer(config, strict=True)
    decisions = []
    real = pz.widgets
    pz.widgets = lambda *a, **k: decisions.append(a) or real(*a, **k)  # type: ignore[method-assign]
    handle = RequestPersonalize(pz, "v-1", Page(type="home", path="/"))
    assert "pz-hello-bar" in handle.render("top")
    assert handle.render("recently_viewed") == ""
    assert handle.render("nowhere") == ""
    assert len(decisions) == 1  # three slots, one decision
    handle.track("Product Viewed", {"product_id": "sku-1"})
    handle.track("Product Viewed", {"product_id": "sku-2"})
    assert "sku-1" in handle.render("recently_viewed")  # decided afresh after tracking
    assert len(decisions) == 2
    handle.page = Page(type="product", path="/p/sku-2", product_id="sku-2")
    assert "sku-2" not in handle.render("recently_viewed")  # a new page, a new decision
    other = Page(type="cart", path="/cart")
    assert {w.kind for w in handle.widgets(page=other)} == {"recently_viewed", "hello_bar"}
    assert handle.render("top") == handle.render("top")  # the request's page: remembered
    assert len(decisions) == 4  # the other page is decided on its own, not remembered


def test_a_new_visitor_is_told_to_a_store_that_asks_and_a_failing_hint_breaks_nothing(caplog):
    noted: list[str] = []
    pz = Personalizer(secret="s" * 32)
    pz.store.note_new_visitor = noted.append  # type: ignore[attr-defined]
    new = request_visitor(None, "pz_vid", pz)
    assert new.is_new and noted == [new.id]
    cookie = set_cookie_header(new, pz.signer, IntegrationSettings(), https=False).split(";")[0]
    returning = request_visitor(cookie, "pz_vid", pz)
    assert returning == visitor_from_cookie(cookie.split("=", 1)[1], pz.signer)
    assert not returning.is_new and noted == [new.id]  # a returning visitor is not noted

    def broken(visitor_id: str) -> None:
        raise RuntimeError("store fault")

    pz.store.note_new_visitor = broken  # type: ignore[attr-defined]
    assert request_visitor("pz_vid=forged.value", "pz_vid", pz).is_new
    assert "could not note a new visitor" in caplog.text


@pytest.mark.parametrize(
    ("cache_control", "shared"),
    [
        (None, False), ("", False), ("no-cache", False), ("max-age=60", False),
        ("public, max-age=86400", True), ("Public", True), (b"s-maxage=300", True),
        ("max-age=0, S-MaxAge=60", True), ("public, private", False),
        ("public, no-store", False), ("private, max-age=60", False),
    ],
)  # fmt: skip
def test_shared_cacheable(cache_control: str | bytes | None, shared: bool) -> None:
    assert shared_cacheable(cache_control) is shared
