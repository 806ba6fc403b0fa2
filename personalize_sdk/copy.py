"""Widget copy: text the shop writes, with `{{ placeholders }}`, rendered in a Jinja2 sandbox.

```toml
headline = "Hi {{ first_name or 'there' }}, spend {{ remaining }} more for free shipping"
body = { default = "New arrivals are in", women = "The summer dresses are in", men = "..." }
```

Copy is compiled once, when the configuration loads (`CopyTemplate.compile`, `VariedCopy`), so a
syntax error is a `ConfigError` naming the field, never a broken page. Copy without any `{{`,
`{%` or `{#` (most of it) is kept as a constant and never touches Jinja.

The context campaigns pass to copy (anything unknown is simply absent):

    first_name  str, only when the shopper told us
    category    the browsed category (str)
    brand       the browsed brand (str)
    product     mapping: name, price (Decimal), url
    cart        mapping: value (Decimal), currency, quantity, items (list of mappings)
    remaining   formatted money text: what is left to the progress bar's threshold ("$12.50")
    threshold   formatted money text of that threshold
    coupon      mapping: code, discount, expires_at (epoch seconds)
    page        mapping: type, path
    segments    frozenset of the shopper's segment names

Rendering rules, and why:

- Output is plain text, not HTML. The template runs with autoescaping off and `render` returns a
  plain `str`; the widget renderer escapes every value exactly once where it inserts it into
  markup. A name like `"><img src=x onerror=alert(1)>` therefore comes back as those very
  characters and reaches the page as `&#34;&gt;&lt;img ...`. Escaping here as well would show
  shoppers `&amp;` for every `&`; escaping only here would leave markup the renderer cannot tell
  from text. Markup written in copy, or produced by `|safe`, is shown literally, never
  interpreted: copy cannot add elements to a page.
- Anything missing renders as nothing (`ChainableUndefined`, and None renders as ""), so
  `{{ first_name or "there" }}` and `{{ product.name }}` are safe with or without the data.
- `x.key` on a mapping reads the key, never a method of the mapping: `cart.items` is the cart's
  items, as the shop means, not `dict.items`.
- The sandbox refuses internal attributes (`''.__class__`), private ones (`_name`) and any
  mutation loudly, as a `CopyError`, rather than rendering them as empty text; so does every
  other error while rendering (a filter given garbage, a comparison with something missing).
  Callers catch `CopyError` and fall back to the widget's default copy.
- No globals (`range`, `lipsum`, ...) and bounded `*` and `**`, so that neither a constant like
  `{{ 9 ** 9 ** 9 }}` at load time nor a repeated string can exhaust the server. This is not a
  general CPU or memory bound: copy is written by the shop's own staff, and is at most 4 KB.

Filters: every Jinja built-in (`default`, `first`, `title`, `upper`, ...) plus `money`:
`{{ cart.value | money(cart.currency) }}` gives `$37.50` (see `personalize_sdk.money`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs
from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, Undefined, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from ._bidi_controls import without_bidi_controls
from ._exceptions import ConfigError, CopyError
from .money import format_money

MAX_SOURCE_BYTES = 4096
MEMO_NAMES = frozenset({"first_name", "category", "brand", "remaining", "threshold"})
"""Context values that are plain text (or absent): copy reading only these is memoised."""
MEMO_SIZE = 4096
_MARKERS = ("{{", "{%", "{#")
_MAX_EXPONENT = 64
_MAX_REPEATED = 4096  # characters or items `*` may produce from a string or list


class _CopyEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox for copy: mappings read as data, refusals raise, `*`/`**` bounded."""

    intercepted_binops = frozenset({"*", "**"})  # also keeps them out of constant folding

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping):
            return self.getitem(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Mapping):  # keys only: never fall back to the mapping's attributes
            try:
                return obj[argument]
            except (LookupError, TypeError):
                return self.undefined(obj=obj, name=argument)
        return super().getitem(obj, argument)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(f"{type(obj).__name__}.{attribute} is not available in copy")

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, (int, float, Decimal)) and abs(right) > _MAX_EXPONENT:
                raise SecurityError(f"exponents above {_MAX_EXPONENT} are not allowed in copy")
            return left**right
        for sequence, times in ((left, right), (right, left)):
            if (
                isinstance(sequence, (str, list, tuple))
                and isinstance(times, int)
                and len(sequence) * times > _MAX_REPEATED
            ):
                raise SecurityError(f"`*` may not build over {_MAX_REPEATED} characters or items")
        return left * right


def _finalize(value: Any) -> Any:
    if type(value) is str:  # a shopper's or a product's text, pasted into the shop's sentence
        return without_bidi_controls(value)
    return "" if value is None else value


def _money(value: Any, currency: Any = None, locale_hint: Any = None) -> str:
    """`{{ amount | money(currency) }}`: nothing for a missing amount, else `format_money`."""
    if value is None or isinstance(value, Undefined):
        return ""
    if isinstance(currency, Undefined) or currency == "":
        currency = None
    hint = None if isinstance(locale_hint, Undefined) else locale_hint
    return format_money(value, currency, hint)


_ENVIRONMENT = _CopyEnvironment(
    autoescape=False,
    undefined=ChainableUndefined,
    finalize=_finalize,
    keep_trailing_newline=True,  # the same text as the constant path, which keeps it verbatim
)
_ENVIRONMENT.globals.clear()
_ENVIRONMENT.filters["money"] = _money


@attrs.frozen
class CopyTemplate:
    """One piece of copy, compiled. Build it with `CopyTemplate.compile(source, field=...)`.

    Constructing it directly compiles too, raising a `ConfigError` without a field.
    """

    source: str
    _template: Template | None = attrs.field(init=False, eq=False, repr=False)
    # Copy that reads only simple text values (a first name, a category, an amount left) is
    # rendered once per combination of them: the same shoppers come back page after page.
    _reads: tuple[str, ...] | None = attrs.field(init=False, eq=False, repr=False)
    names: frozenset[str] = attrs.field(init=False, eq=False, repr=False)
    """The context names the copy reads (so a caller can build only those)."""
    _rendered: dict[tuple[Any, ...], str] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        template = _compile(self.source, field="")
        object.__setattr__(self, "_template", template)
        reads = None
        names: frozenset[str] = frozenset()
        if template is not None:
            names = frozenset(meta.find_undeclared_variables(_ENVIRONMENT.parse(self.source)))
            if names <= MEMO_NAMES:
                reads = tuple(sorted(names))
        object.__setattr__(self, "_reads", reads)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "_rendered", {})

    @classmethod
    def compile(cls, source: Any, *, field: str) -> CopyTemplate:
        """Compile copy from config; a `ConfigError` names `field` and, for syntax, the line."""
        try:
            return cls(source)
        except ConfigError as error:
            raise ConfigError(error.message, field=field) from None

    @property
    def is_constant(self) -> bool:
        """True when the copy has no placeholders and renders without Jinja."""
        return self._template is None

    def render(self, context: Mapping[str, Any]) -> str:
        """The copy as plain text for `context` (module docs); raises `CopyError` on any failure."""
        if self._template is None:
            return self.source
        reads = self._reads
        if reads is not None:
            key = tuple(context.get(name) for name in reads)
            if all(value is None or type(value) is str for value in key):
                found = self._rendered.get(key)
                if found is None:
                    found = self._render(context)
                    if len(self._rendered) >= MEMO_SIZE:
                        self._rendered.clear()
                    self._rendered[key] = found
                return found
        return self._render(context)

    def _render(self, context: Mapping[str, Any]) -> str:
        assert self._template is not None
        try:
            return self._template.render(context)
        except Exception as error:
            raise CopyError(f"copy failed to render: {type(error).__name__}: {error}") from error


def _compile(source: Any, *, field: str) -> Template | None:
    if not isinstance(source, str):
        raise ConfigError(f"expected text, got {type(source).__name__}", field=field)
    if len(source) > MAX_SOURCE_BYTES or len(source.encode("utf-8", "surrogatepass")) > (
        MAX_SOURCE_BYTES
    ):
        raise ConfigError(f"copy is limited to {MAX_SOURCE_BYTES} bytes", field=field)
    if not any(marker in source for marker in _MARKERS):
        return None
    try:
        return _ENVIRONMENT.from_string(source)
    except TemplateSyntaxError as error:
        raise ConfigError(
            f"template syntax error on line {error.lineno}: {error.message}", field=field
        ) from None


@attrs.frozen
class VariedCopy:
    """Copy that varies by browsed category (C6), with a default for every other category.

    From config: a plain string (the same copy everywhere) or a table
    `{ default = "...", women = "...", men = "..." }`. Categories match case-insensitively.
    """

    default: CopyTemplate
    by_category: Mapping[str, CopyTemplate] = attrs.field(factory=dict)
    """Keys are case-folded category names."""

    @classmethod
    def from_value(cls, raw: Any, *, field: str) -> VariedCopy:
        """Read a string or a `{default = ..., <category> = ...}` table; `ConfigError` naming
        `field` (and the category) for anything else."""
        if isinstance(raw, str):
            return cls(CopyTemplate.compile(raw, field=field))
        if not isinstance(raw, Mapping):
            raise ConfigError(
                f"expected text or a table of text by category, got {type(raw).__name__}",
                field=field,
            )
        if "default" not in raw:
            raise ConfigError(
                "a table of copy by category needs a `default` entry", field=f"{field}.default"
            )
        by_category: dict[str, CopyTemplate] = {}
        for category, source in raw.items():
            where = f"{field}.{category}"
            if not isinstance(category, str) or not category.strip():
                raise ConfigError("a category name must be non-empty text", field=where)
            key = _category_key(category)
            if key in by_category:
                raise ConfigError("this category is listed twice (names ignore case)", field=where)
            by_category[key] = CopyTemplate.compile(source, field=where)
        default = by_category.pop("default")
        return cls(default, by_category)

    def for_category(self, category: str | None) -> CopyTemplate:
        """The copy for `category` (any case), or the default."""
        if not isinstance(category, str):
            return self.default
        return self.by_category.get(_category_key(category), self.default)


def _category_key(category: str) -> str:
    return category.strip().casefold()
