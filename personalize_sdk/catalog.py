"""The product catalog: what a product id shows as in a widget (name, link, image, price).

`Product` is a frozen value that validates itself on construction, however it is built: a
`javascript:` link, a NaN price or a control character in an id never reaches a page.
Catalogs are anything with `get` and `get_many` (the `Catalog` protocol):

- `MemoryCatalog`: the whole catalog in memory, loaded from JSON, CSV or records.
- `CallableCatalog`: an adapter over the shop's own lookup (an ORM query), with a TTL cache
  that also remembers misses. A failing lookup raises `CatalogUnavailable`, which callers
  degrade around (no widget) instead of failing the page.

`as_catalog` turns what `Personalizer(catalog=...)` accepts into one of these.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import attrs
import cachetools

from ._exceptions import CatalogError, CatalogUnavailable, ConfigError

MAX_ID_LENGTH = 255
MAX_NAME_LENGTH = 1000
MAX_FACET_LENGTH = 255
MAX_URL_LENGTH = 2048
MAX_PRICE = Decimal(10) ** 15
"""Far above any real price in any currency; larger values are data errors (or an attack)."""
FACET_KEY_LENGTH = 100
"""Category and brand keys are cut here, as the reducer cuts its affinity keys."""

COLUMNS = ("id", "name", "url", "image", "price", "currency", "category", "brand", "in_stock")
"""The fields of a product record (CSV columns, JSON keys); other keys are ignored."""

_CURRENCY = re.compile(r"[A-Z]{3}")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


def facet_key(value: object) -> str | None:
    """The key a category or brand is counted and looked up by: stripped, lower-cased and cut
    to `FACET_KEY_LENGTH` characters like the reducer's affinity keys, so "Watches" and
    " watches" are one category. None for missing, blank or non-text values."""
    if type(value) is not str:
        return None
    return value.strip().lower()[:FACET_KEY_LENGTH].strip() or None


# -- field converters: each coerces one field or raises CatalogError naming it ----------------


def _printable(text: str) -> bool:
    """No control, format or separator characters but the plain space (and no lone surrogate,
    which could not be encoded as UTF-8 on the way to a page)."""
    return text.isprintable()


def _no_controls(text: str) -> bool:
    """Display text may hold tabs and line breaks (HTML shows them as spaces) but no other
    control character and no lone surrogate."""
    return text.isprintable() or not any(
        unicodedata.category(char) in ("Cc", "Cs") and char not in "\t\n\r" for char in text
    )


def _product_id(value: object) -> str:
    # Shops' databases often key products by integers; an int id is its decimal text.
    if type(value) is int:
        value = str(value)
    if not isinstance(value, str):
        raise CatalogError(f"expected text, got {type(value).__name__}", field="id")
    text = value.strip()
    if not 1 <= len(text) <= MAX_ID_LENGTH:
        raise CatalogError(f"must be 1..{MAX_ID_LENGTH} characters", field="id")
    if not _printable(text):
        raise CatalogError("must not contain control or invisible characters", field="id")
    return text


def _name(value: object) -> str:
    if not isinstance(value, str):
        raise CatalogError(f"expected text, got {type(value).__name__}", field="name")
    text = value.strip()
    if not text:
        raise CatalogError("is required", field="name")
    if len(text) > MAX_NAME_LENGTH:
        raise CatalogError(f"must be at most {MAX_NAME_LENGTH} characters", field="name")
    if not _no_controls(text):
        raise CatalogError("must not contain control characters", field="name")
    return text


def _optional_text(field: str) -> Callable[[object], str | None]:
    def convert(value: object) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise CatalogError(f"expected text, got {type(value).__name__}", field=field)
        text = value.strip()
        if len(text) > MAX_FACET_LENGTH:
            raise CatalogError(f"must be at most {MAX_FACET_LENGTH} characters", field=field)
        if not _no_controls(text):
            raise CatalogError("must not contain control characters", field=field)
        return text or None

    return convert


def _url(field: str) -> Callable[[object], str | None]:
    """An absolute http(s) URL or a path on the shop's own site ("/p/sku-1").

    Anything else is refused, `javascript:` and `data:` above all. Protocol-relative links
    ("//host/x", and "/\\host/x" which browsers read the same way) point at another site and
    are refused too: write them with an explicit ``https:``.
    """

    def convert(value: object) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise CatalogError(f"expected text, got {type(value).__name__}", field=field)
        text = value.strip()
        if not text:
            return None
        if len(text) > MAX_URL_LENGTH:
            raise CatalogError(f"must be at most {MAX_URL_LENGTH} characters", field=field)
        if " " in text or not _printable(text):
            raise CatalogError("must not contain spaces or control characters", field=field)
        if text.startswith("/"):
            if text.startswith(("//", "/\\")):
                raise CatalogError(
                    f"protocol-relative URL {text[:60]!r}: write it with https:", field=field
                )
            return text
        try:
            parts = urlsplit(text)
            host = parts.hostname
        except ValueError:
            host = None
            parts = None
        if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
            raise CatalogError(
                f"must be an absolute http(s) URL or a path starting with '/', got {text[:60]!r}",
                field=field,
            )
        return text

    return convert


def _price(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise CatalogError("expected a number, got bool", field="price")
    if isinstance(value, Decimal):
        price = value
    elif isinstance(value, int):
        if value > MAX_PRICE:  # before Decimal(), which would build a huge number
            raise CatalogError(f"must be at most {MAX_PRICE:.0e}", field="price")
        price = Decimal(value)
    elif isinstance(value, float):
        # repr() is the shortest text that reads back as the same float: 19.99, not the
        # binary expansion 19.989999999999998436805981327779591083526611328125.
        price = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if len(text) > 40:
            raise CatalogError(f"not a price: {text[:40]!r}...", field="price")
        try:
            price = Decimal(text)
        except InvalidOperation:
            raise CatalogError(f"not a number: {text!r}", field="price") from None
    else:
        raise CatalogError(f"expected a number, got {type(value).__name__}", field="price")
    if not price.is_finite():
        raise CatalogError(f"must be finite, got {value!r}", field="price")
    if price < 0:
        raise CatalogError(f"must be >= 0, got {value!r}", field="price")
    if price > MAX_PRICE:
        raise CatalogError(f"must be at most {MAX_PRICE:.0e}", field="price")
    return abs(price)  # -0 reads as 0


def _currency(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise CatalogError(f"expected text, got {type(value).__name__}", field="currency")
    text = value.strip().upper()
    if not text:
        return None
    if not _CURRENCY.fullmatch(text):
        raise CatalogError(
            f"expected an ISO 4217 code like 'EUR', got {text[:20]!r}", field="currency"
        )
    return text


def _in_stock(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return True
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise CatalogError(
        f"expected true/false, 1/0 or yes/no, got {str(value)[:20]!r}", field="in_stock"
    )


@attrs.frozen(slots=True)
class Product:
    """One product as widgets show it. Built from code or `from_mapping`, always validated."""

    id: str = attrs.field(converter=_product_id)
    name: str = attrs.field(converter=_name)
    url: str | None = attrs.field(default=None, converter=_url("url"))
    image: str | None = attrs.field(default=None, converter=_url("image"))
    price: Decimal | None = attrs.field(default=None, converter=_price)
    currency: str | None = attrs.field(default=None, converter=_currency)
    """ISO 4217 code, upper-cased."""
    category: str | None = attrs.field(default=None, converter=_optional_text("category"))
    """As the shop names it; look-ups and counters use `facet_key(category)`."""
    brand: str | None = attrs.field(default=None, converter=_optional_text("brand"))
    in_stock: bool = attrs.field(default=True, converter=_in_stock)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Product:
        """A product from a JSON object or CSV row: the `COLUMNS` keys, others ignored.

        Coercions: `price` from int, float, Decimal or text; `in_stock` from a bool, 0/1 or
        true/false/yes/no text; an int `id` becomes text; blank optional fields are missing.
        """
        if not isinstance(raw, Mapping):
            raise CatalogError(f"expected an object, got {type(raw).__name__}")
        if raw.get("id") is None:
            raise CatalogError("is required", field="id")
        if raw.get("name") is None:
            raise CatalogError("is required", field="name")
        return cls(**{key: raw[key] for key in COLUMNS if raw.get(key) is not None})


@runtime_checkable
class Catalog(Protocol):
    """What widgets need of a catalog: products by id, missing ids left out."""

    def get(self, product_id: str) -> Product | None: ...

    def get_many(self, product_ids: Iterable[str]) -> dict[str, Product]: ...


def _wanted(product_ids: Iterable[str]) -> list[str]:
    """Distinct text ids in request order (anything else can name no product)."""
    if isinstance(product_ids, (str, bytes)):
        raise TypeError("expected an iterable of product ids, not a single string")
    return list(dict.fromkeys(pid for pid in product_ids if type(pid) is str))


# A row of a catalog file: where it is (``products[3]``), a note for messages (the CSV line)
# and the record itself.
_Row = tuple[str, str, Any]


class MemoryCatalog:
    """The whole catalog in memory, indexed by id, category and brand."""

    def __init__(self, products: Iterable[Product] = (), *, source: str = "") -> None:
        self.source = source
        self._products: dict[str, Product] = {}
        self._by_category: dict[str, list[Product]] = {}
        self._by_brand: dict[str, list[Product]] = {}
        rows = ((f"products[{index}]", "", item) for index, item in enumerate(products))
        self._add_rows(rows)

    def _add_rows(self, rows: Iterable[_Row]) -> None:
        where: dict[str, str] = {}
        for row, note, item in rows:
            if isinstance(item, Product):
                product = item
            elif isinstance(item, Mapping):
                try:
                    product = Product.from_mapping(item)
                except CatalogError as error:
                    raise error.at(self.source, row, note) from None
            else:
                raise CatalogError(
                    f"expected a product object, got {type(item).__name__}{note}",
                    source=self.source,
                    field=row,
                )
            first = where.get(product.id)
            if first is not None:
                raise CatalogError(
                    f"duplicate id {product.id!r}{note}, first at {first}",
                    source=self.source,
                    field=f"{row}.id",
                )
            where[product.id] = row + note
            self._products[product.id] = product
            for key, index in (
                (facet_key(product.category), self._by_category),
                (facet_key(product.brand), self._by_brand),
            ):
                if key is not None:
                    index.setdefault(key, []).append(product)

    @classmethod
    def from_records(
        cls, records: Iterable[Product | Mapping[str, Any]], *, source: str = "<records>"
    ) -> MemoryCatalog:
        """A catalog from Products or mappings with the `COLUMNS` keys."""
        if isinstance(records, (str, bytes, Mapping)):
            raise CatalogError(
                f"expected a list of products, got {type(records).__name__}", source=source
            )
        catalog = cls(source=source)
        catalog._add_rows((f"products[{i}]", "", record) for i, record in enumerate(records))
        return catalog

    @classmethod
    def from_json(cls, path_or_file: str | os.PathLike[str] | IO[Any]) -> MemoryCatalog:
        """A JSON array of product objects, or an object with a "products" array.

        Decimal prices stay exact (``19.99`` is read as ``Decimal("19.99")``, not a float).
        """
        source, text = _read_text(path_or_file)
        try:
            document = json.loads(text, parse_float=Decimal)
        except (ValueError, RecursionError) as error:
            raise CatalogError(f"not valid JSON: {error}", source=source) from None
        records = document.get("products") if isinstance(document, dict) else document
        if not isinstance(records, list):
            raise CatalogError(
                "expected a JSON array of products or an object with a 'products' array",
                source=source,
                field="products",
            )
        return cls.from_records(records, source=source)

    @classmethod
    def from_csv(cls, path_or_file: str | os.PathLike[str] | IO[Any]) -> MemoryCatalog:
        """A CSV file with a header row naming `COLUMNS` (id and name required, any order,
        case-insensitive); other columns are ignored and blank lines skipped."""
        source, text = _read_text(path_or_file)
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = next(reader, None)
            if header is None:
                raise CatalogError("empty file: expected a header row", source=source)
            columns = [column.strip().lower() for column in header]
            for required in ("id", "name"):
                if required not in columns:
                    raise CatalogError(
                        f"no {required!r} column in the header {header[:12]!r}",
                        source=source,
                        field="header",
                    )
            repeated = sorted({c for c in columns if c in COLUMNS and columns.count(c) > 1})
            if repeated:
                raise CatalogError(
                    f"column {repeated[0]!r} appears twice", source=source, field="header"
                )
            catalog = cls(source=source)
            catalog._add_rows(_csv_rows(reader, columns, source))
        except csv.Error as error:
            raise CatalogError(
                f"not valid CSV (line {reader.line_num}): {error}", source=source
            ) from None
        return catalog

    def get(self, product_id: str) -> Product | None:
        return self._products.get(product_id) if type(product_id) is str else None

    def get_many(self, product_ids: Iterable[str]) -> dict[str, Product]:
        products = self._products
        return {pid: products[pid] for pid in _wanted(product_ids) if pid in products}

    def products_in_category(self, category: str) -> tuple[Product, ...]:
        """Products of a category (case-insensitive), in catalog order."""
        return tuple(self._by_category.get(facet_key(category) or "", ()))

    def products_of_brand(self, brand: str) -> tuple[Product, ...]:
        """Products of a brand (case-insensitive), in catalog order."""
        return tuple(self._by_brand.get(facet_key(brand) or "", ()))

    def __len__(self) -> int:
        return len(self._products)

    def __contains__(self, product_id: object) -> bool:
        return type(product_id) is str and product_id in self._products

    def __iter__(self) -> Iterator[Product]:
        return iter(self._products.values())

    def __repr__(self) -> str:
        return f"<MemoryCatalog {len(self)} products from {self.source or '<memory>'}>"


def _csv_rows(reader: Any, columns: list[str], source: str) -> Iterator[_Row]:
    """The data rows of a `csv.reader` positioned after the header."""
    index = 0
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        row, note = f"products[{index}]", f" (line {line})"
        if len(cells) > len(columns):
            raise CatalogError(
                f"{len(cells)} cells but the header has {len(columns)}{note}",
                source=source,
                field=row,
            )
        # A short row leaves its last columns missing.
        pairs = zip(columns, cells, strict=False)
        record = {column: cell for column, cell in pairs if column in COLUMNS and cell}
        yield row, note, record
        index += 1


def _read_text(path_or_file: str | os.PathLike[str] | IO[Any]) -> tuple[str, str]:
    """(name for messages, text) of a path or an open file, text or binary, BOM stripped."""
    if isinstance(path_or_file, (str, os.PathLike)):
        source = os.fspath(path_or_file)
        try:
            with open(path_or_file, "rb") as file:
                content: str | bytes = file.read()
        except OSError as error:
            raise CatalogError(f"cannot read: {error.strerror or error}", source=source) from None
    else:
        source = str(getattr(path_or_file, "name", "") or "<file>")
        try:
            content = path_or_file.read()
        except (OSError, ValueError) as error:
            raise CatalogError(f"cannot read: {error}", source=source) from None
    if isinstance(content, bytes):
        try:
            return source, content.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise CatalogError(f"not UTF-8 text: {error}", source=source) from None
    if not isinstance(content, str):
        raise CatalogError(f"read() gave {type(content).__name__}", source=source)
    return source, content.removeprefix("\ufeff")


_MISS = object()
"""Cached in place of a product the shop's lookup did not return (negative caching)."""


class CallableCatalog:
    """A catalog backed by the shop's own lookup, `fetch(ids) -> Iterable[Product | Mapping]`.

    Answers, products and misses alike, are cached for `ttl` seconds (up to `maxsize` ids), so
    a hot page asks the shop's database once per product per `ttl`, unknown ids included. A
    lookup that raises is not cached: it raises `CatalogUnavailable` and the next call tries
    again. Records the lookup returns are validated like any other (`CatalogError`); ids that
    were not asked for are ignored.

    Thread-safe: one lock guards the cache, never held during `fetch`, so a slow database does
    not serialise other threads' cache hits (two threads missing the same id may both fetch it).
    """

    def __init__(
        self,
        fetch: Callable[[list[str]], Iterable[Product | Mapping[str, Any]]],
        *,
        maxsize: int = 10_000,
        ttl: float = 300.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        if not callable(fetch):
            raise ConfigError(f"expected a callable, got {type(fetch).__name__}", field="fetch")
        if type(maxsize) is not int or maxsize < 1:
            raise ConfigError(f"expected a positive int, got {maxsize!r}", field="maxsize")
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 < ttl < 1e9:
            raise ConfigError(f"expected seconds > 0, got {ttl!r}", field="ttl")
        self._fetch = fetch
        self._cache: cachetools.TTLCache[str, object] = cachetools.TTLCache(
            maxsize=maxsize, ttl=ttl, timer=timer
        )
        self._lock = threading.Lock()
        self.source = f"<fetch {getattr(fetch, '__qualname__', type(fetch).__name__)}>"

    def get(self, product_id: str) -> Product | None:
        return self.get_many([product_id]).get(product_id) if type(product_id) is str else None

    def get_many(self, product_ids: Iterable[str]) -> dict[str, Product]:
        wanted = _wanted(product_ids)
        found: dict[str, Product] = {}
        missing: list[str] = []
        with self._lock:
            for pid in wanted:
                cached = self._cache.get(pid)
                if cached is None:
                    missing.append(pid)
                elif cached is not _MISS:
                    found[pid] = cached  # type: ignore[assignment]
        if missing:
            fetched = self._lookup(missing)
            with self._lock:
                for pid in missing:
                    self._cache[pid] = fetched.get(pid, _MISS)
            found.update(fetched)
            return {pid: found[pid] for pid in wanted if pid in found}
        return found

    def invalidate(self, product_ids: Iterable[str] | None = None) -> None:
        """Forget cached answers for these ids (all of them with None), e.g. after an edit."""
        with self._lock:
            if product_ids is None:
                self._cache.clear()
                return
            for pid in _wanted(product_ids):
                self._cache.pop(pid, None)

    def _lookup(self, ids: list[str]) -> dict[str, Product]:
        try:
            # Iterating inside the guard: an ORM queryset runs its query when iterated.
            records = list(self._fetch(list(ids)))
        except Exception as error:
            raise CatalogUnavailable(
                f"catalog lookup of {len(ids)} product(s) failed: {type(error).__name__}: {error}"
            ) from error
        wanted = set(ids)
        products: dict[str, Product] = {}
        for index, record in enumerate(records):
            row = f"fetch()[{index}]"
            if isinstance(record, Product):
                product = record
            elif isinstance(record, Mapping):
                try:
                    product = Product.from_mapping(record)
                except CatalogError as error:
                    raise error.at(self.source, row) from None
            else:
                raise CatalogError(
                    f"expected a Product or a mapping, got {type(record).__name__}",
                    source=self.source,
                    field=row,
                )
            if product.id in wanted:
                products[product.id] = product
        return products

    def __repr__(self) -> str:
        return f"<CallableCatalog {self.source} cached={len(self._cache)}>"


def as_catalog(value: object) -> Catalog | None:
    """What `Personalizer(catalog=...)` accepts, as a `Catalog`: None, a Catalog, a mapping of
    id -> Product or record, a list of Products or records, or a .json or .csv path."""
    if value is None or isinstance(value, Catalog):
        return value
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        suffix = path.suffix.lower()
        if suffix == ".json":
            return MemoryCatalog.from_json(path)
        if suffix == ".csv":
            return MemoryCatalog.from_csv(path)
        raise CatalogError("expected a .json or .csv catalog file", source=str(path))
    if isinstance(value, Mapping):
        catalog = MemoryCatalog(source="<mapping>")
        catalog._add_rows(
            (f"products[{key!r}]", "", _keyed(key, record)) for key, record in value.items()
        )
        return catalog
    if isinstance(value, (list, tuple)):
        return MemoryCatalog.from_records(value, source="<list>")
    raise CatalogError(
        "expected None, a Catalog, a mapping or list of products, or a .json/.csv path; "
        f"got {type(value).__name__}",
        field="catalog",
    )


def _keyed(key: object, record: object) -> object:
    """A record of a mapping keyed by product id: the id comes from the key when missing, and
    must match it when present."""
    if isinstance(record, Product):
        product_id = record.id
    elif isinstance(record, Mapping):
        if record.get("id") is None:
            return {**record, "id": key}
        product_id = record["id"]
    else:
        return record  # reported by from_records with its position
    if str(product_id) != str(key).strip():
        raise CatalogError(
            f"id {product_id!r} differs from its key",
            source="<mapping>",
            field=f"products[{key!r}].id",
        )
    return record
