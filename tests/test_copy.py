"""Widget copy: sandboxed plain-text templates, compiled at load, varied by category."""

from __future__ import annotations

from decimal import Decimal

import markupsafe
import pytest

from personalize_sdk._exceptions import ConfigError, PersonalizeError
from personalize_sdk.copy import MAX_SOURCE_BYTES, CopyError, CopyTemplate, VariedCopy

XSS_NAME = '"><img src=x onerror=alert(1)>'


def render(source: str, **context) -> str:
    return CopyTemplate.compile(source, field="copy").render(context)


def cart(value: str = "37.50", currency: str = "USD") -> dict:
    return {
        "value": Decimal(value),
        "currency": currency,
        "quantity": 2,
        "items": [{"name": "Linen shirt"}, {"name": "Chinos"}],
    }


def test_first_name_falls_back():
    source = 'Hi {{ first_name or "there" }}!'
    assert render(source, first_name="Asha") == "Hi Asha!"
    assert render(source) == "Hi there!"
    assert render(source, first_name="") == "Hi there!"
    assert render(source, first_name=None) == "Hi there!"


def test_bidi_controls_in_values_are_dropped_not_the_shops_own_text():
    """A first name opening RIGHT-TO-LEFT ISOLATE, a product name ending in an override: the
    rest of the sentence would be laid out backwards around them."""
    source = "\u200fHi {{ first_name }}, {{ product.name }} now $99!"
    shown = render(source, first_name="\u2067Asha", product={"name": "Dive watch\u202e"})
    assert shown == "\u200fHi Asha, Dive watch now $99!"
    assert render("{{ name }}", name="\u05d0\u05e9\u05d4\u200f") == "\u05d0\u05e9\u05d4\u200f"


def test_missing_values_render_as_nothing():
    assert render("[{{ product.name }}|{{ nope }}|{{ cart.value }}|{{ none }}]", none=None) == (
        "[|||]"
    )
    assert render("{{ brand | default('our brands') }}") == "our brands"


def test_context_mappings_read_their_keys_not_their_methods():
    assert render("{{ cart.items | length }} items", cart=cart()) == "2 items"
    assert render("{% for item in cart.items %}{{ item.name }};{% endfor %}", cart=cart()) == (
        "Linen shirt;Chinos;"
    )
    assert render("{{ (cart.items | first).name }}", cart=cart()) == "Linen shirt"
    assert render("[{{ cart.keys }}{{ cart.get }}]", cart=cart()) == "[]"
    assert render("{{ product['name'] }}", product={"name": "Tote"}) == "Tote"


def test_common_context_values():
    context = {
        "category": "women's shoes",
        "page": {"type": "category", "path": "/women/shoes"},
        "segments": frozenset({"vip", "buyer_intent"}),
        "coupon": {"code": "WB-1234", "discount": "10%", "expires_at": 1_790_000_000.0},
        "remaining": "$12.50",
    }
    source = (
        "{{ category | title }} | {{ page.type }} | "
        "{% if 'vip' in segments %}VIP {% endif %}{{ coupon.discount }} off with {{ coupon.code }}"
        " | {{ remaining }} to go"
    )
    assert CopyTemplate.compile(source, field="copy").render(context) == (
        "Women's Shoes | category | VIP 10% off with WB-1234 | $12.50 to go"
    )


@pytest.mark.parametrize(
    ("value", "currency", "text"),
    [
        ("37.5", "USD", "$37.50"),
        ("1234.5", "EUR", "€1,234.50"),
        ("1234.5", "JPY", "¥1,235"),
        ("12.3456", "KWD", "12.346 KWD"),
        ("99", "CHF", "99.00 CHF"),
        ("99", "inr", "₹99.00"),
        ("-5", "GBP", "-£5.00"),
    ],
)
def test_money_filter(value, currency, text):
    assert render("{{ cart.value | money(cart.currency) }}", cart=cart(value, currency)) == text


def test_money_filter_edges():
    assert render("{{ cart.value | money(cart.currency) }}") == ""  # no cart: nothing
    assert render("{{ amount | money }}", amount=Decimal("12.5")) == "12.50"
    assert render("{{ amount | money(cur) }}", amount=12.5) == "12.50"  # missing currency
    assert render("{{ amount | money('AUD', 'en-AU') }}", amount=12.5) == "$12.50"
    with pytest.raises(CopyError, match="finite"):
        render("{{ amount | money('USD') }}", amount=float("nan"))
    with pytest.raises(CopyError, match="ISO 4217"):
        render("{{ amount | money('dollars') }}", amount=1)


def test_output_is_the_literal_text_and_escaping_is_the_html_layers_job():
    rendered = render("Welcome back, {{ first_name }}!", first_name=XSS_NAME)
    assert rendered == f"Welcome back, {XSS_NAME}!"
    assert type(rendered) is str  # not Markup: escape() below must not trust it
    escaped = str(markupsafe.escape(rendered))
    assert "<img" not in escaped
    assert "&lt;img" in escaped
    ampersand = render("{{ brand }}", brand="Marks & Spencer")
    assert ampersand == "Marks & Spencer"  # not "&amp;": escaped once, later


def test_markup_in_copy_or_marked_safe_is_still_plain_text():
    for source in ("<b>{{ first_name }}</b>", "{{ first_name | safe }}", "{{ html | safe }}"):
        rendered = render(source, first_name=XSS_NAME, html=markupsafe.Markup("<img src=x>"))
        assert type(rendered) is str
        assert "<img" not in str(markupsafe.escape(rendered))
        assert "<b" not in str(markupsafe.escape(rendered))


class Product:
    def __init__(self) -> None:
        self.name = "Tote"
        self._cost = 3


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ product.__class__ }}",
        "{{ product.__init__.__globals__ }}",
        "{{ product._cost }}",
        "{{ product['_cost'] }}",
        "{{ cart.items.append(1) }}",
        "{{ cart.items.pop() }}",
        "{{ (cart.items | first).update({'name': 'x'}) }}",
        "{{ segments.__iter__ }}",
        "{{ range(10) | list }}",
        "{{ lipsum() }}",
        "{{ cycler(1, 2).next() }}",
        "{{ 2 ** 100000 }}",
        "{{ 'x' * 100000 }}",
        "{{ [1] * 100000 }}",
        "{{ 100000 * 'x' }}",
    ],
)
def test_sandbox_refuses_loudly(source):
    context = {"product": Product(), "cart": cart(), "segments": frozenset({"vip"})}
    with pytest.raises(CopyError):
        CopyTemplate.compile(source, field="copy").render(context)
    assert context["cart"]["items"] == [{"name": "Linen shirt"}, {"name": "Chinos"}]


def test_small_arithmetic_still_works():
    assert render("{{ 2 ** 10 }} {{ 'ab' * 3 }} {{ 3 * 4 }}") == "1024 ababab 12"
    assert render("{{ product.name }}", product=Product()) == "Tote"


def test_render_errors_are_copy_errors():
    assert issubclass(CopyError, PersonalizeError)
    with pytest.raises(CopyError):
        render("{% if cart.value > 50 %}big{% endif %}")  # comparing what is missing
    with pytest.raises(CopyError):
        render("{{ 1 / zero }}", zero=0)
    with pytest.raises(CopyError):
        CopyTemplate.compile("{{ x }}", field="copy").render(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_constant_copy_skips_jinja_and_keeps_the_text_verbatim():
    source = "Free shipping over $50 {not a placeholder} } {\n"
    template = CopyTemplate.compile(source, field="copy")
    assert template.is_constant
    assert template.render({"first_name": "Asha"}) == source
    assert template.render({}) is source
    dynamic = CopyTemplate.compile(source + "{{ '' }}", field="copy")
    assert not dynamic.is_constant
    assert dynamic.render({}) == source  # the same text either way, trailing newline included
    for marker in ("{{ x }}", "{% if x %}{% endif %}", "{# note #}"):
        assert not CopyTemplate.compile(marker, field="copy").is_constant


def test_equal_sources_make_equal_templates():
    one = CopyTemplate.compile("Hi {{ first_name }}", field="a")
    assert one == CopyTemplate.compile("Hi {{ first_name }}", field="b")
    assert hash(one) == hash(CopyTemplate("Hi {{ first_name }}"))


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("Hello\n{% if first_name %}", "line 2"),
        ("{{ first_name", "line 1"),
        ("ok\nok\n{{ first_name | no_such_filter }}", "line 3"),
        ("{% for x in %}{% endfor %}", "syntax"),
        ("{{ x }", "syntax"),
    ],
)
def test_syntax_errors_are_config_errors_naming_field_and_line(source, match):
    with pytest.raises(ConfigError, match=match) as caught:
        CopyTemplate.compile(source, field="campaigns.welcome.headline")
    assert caught.value.field == "campaigns.welcome.headline"
    assert "campaigns.welcome.headline" in str(caught.value)


def test_source_size_and_type_are_checked():
    assert CopyTemplate.compile("x" * MAX_SOURCE_BYTES, field="copy").render({})
    with pytest.raises(ConfigError, match="4096 bytes") as caught:
        CopyTemplate.compile("x" * (MAX_SOURCE_BYTES + 1), field="copy")
    assert caught.value.field == "copy"
    with pytest.raises(ConfigError, match="bytes"):
        CopyTemplate.compile("\u00e9" * (MAX_SOURCE_BYTES // 2 + 1), field="copy")  # 2 bytes each
    for source in (None, 12, b"Hi", ["Hi"]):
        with pytest.raises(ConfigError, match="expected text"):
            CopyTemplate.compile(source, field="copy")


def test_unicode_copy_and_context():
    assert render(
        "\U0001f6d2 {{ first_name }} \u0645\u0631\u062d\u0628\u0627", first_name="\u00c5sa"
    ) == ("\U0001f6d2 \u00c5sa \u0645\u0631\u062d\u0628\u0627")


# -- copy by category ----------------------------------------------------------------------------


def test_varied_copy_from_a_string_is_the_same_everywhere():
    copy = VariedCopy.from_value("Hi {{ first_name }}", field="headline")
    assert copy.for_category("women") is copy.default
    assert copy.for_category(None).render({"first_name": "Asha"}) == "Hi Asha"


def test_varied_copy_picks_by_category_case_insensitively():
    copy = VariedCopy.from_value(
        {"default": "New arrivals", "Women": "Summer dresses", "men": "Linen shirts"},
        field="headline",
    )
    render_for = lambda category: copy.for_category(category).render({})  # noqa: E731
    assert render_for("women") == "Summer dresses"
    assert render_for("WOMEN") == "Summer dresses"
    assert render_for(" Women ") == "Summer dresses"
    assert render_for("Men") == "Linen shirts"
    assert render_for("kids") == "New arrivals"
    assert render_for(None) == "New arrivals"
    assert render_for("") == "New arrivals"
    assert render_for(42) == "New arrivals"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "field", "match"),
    [
        ({"women": "Dresses"}, "headline.default", "default"),
        ({}, "headline.default", "default"),
        ({"default": "x", "women": "a", "WOMEN": "b"}, "headline.WOMEN", "twice"),
        ({"default": "x", "women": "{% if %}"}, "headline.women", "line 1"),
        ({"default": "x", "men": 5}, "headline.men", "expected text"),
        ({"default": "x", "": "y"}, "headline.", "non-empty"),
        ({"default": None}, "headline.default", "expected text"),
        (["default"], "headline", "table"),
        (None, "headline", "table"),
    ],
)
def test_varied_copy_config_errors_name_the_field(raw, field, match):
    with pytest.raises(ConfigError, match=match) as caught:
        VariedCopy.from_value(raw, field="headline")
    assert caught.value.field == field


def test_copy_reading_only_text_values_is_remembered_per_combination() -> None:
    template = CopyTemplate.compile("Hi {{ first_name or 'there' }} in {{ category }}", field="t")
    seen = [
        template.render({"first_name": name, "category": category})
        for name, category in [("Ann", "shoes"), ("Bob", "shoes"), ("Ann", "bags"), (None, "x")]
    ]
    assert seen == ["Hi Ann in shoes", "Hi Bob in shoes", "Hi Ann in bags", "Hi there in x"]
    assert template.render({"first_name": "Ann", "category": "shoes"}) == "Hi Ann in shoes"
    # a value that is not text is rendered, not looked up (it could render differently)
    assert template.render({"first_name": 7, "category": "shoes"}) == "Hi 7 in shoes"
    assert template.names == {"first_name", "category"}
