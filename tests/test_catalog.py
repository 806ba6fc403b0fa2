"""The product catalog: validated products, JSON/CSV loading, and the cached shop lookup."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from personalize_sdk._exceptions import ConfigError, PersonalizeError
from personalize_sdk.catalog import (
    CallableCatalog,
    Catalog,
    CatalogError,
    CatalogUnavailable,
    MemoryCatalog,
    Product,
    as_catalog,
    facet_key,
)
from tests.helpers import Clock

WATCH = {"id": "sku-1", "name": "Diver watch", "category": "Watches", "brand": "Acme"}


def product(pid: str, **fields: Any) -> Product:
    return Product.from_mapping({"id": pid, "name": f"Product {pid}", **fields})


# -- Product ---------------------------------------------------------------------------------


def test_from_mapping_coerces_every_field() -> None:
    got = Product.from_mapping(
        {
            "id": " 42 ",
            "name": "  Diver watch ",
            "url": "https://shop.example/p/42",
            "image": "/img/42.jpg",
            "price": "119.90",
            "currency": " eur",
            "category": "Watches",
            "brand": "Acme",
            "in_stock": "No",
            "color": "blue",  # unknown keys are ignored
        }
    )
    assert got == Product(
        id="42",
        name="Diver watch",
        url="https://shop.example/p/42",
        image="/img/42.jpg",
        price=Decimal("119.90"),
        currency="EUR",
        category="Watches",
        brand="Acme",
        in_stock=False,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (19.99, Decimal("19.99")),  # the float's shortest text, not its binary expansion
        (20, Decimal(20)),
        ("0.10", Decimal("0.10")),
        (Decimal("5.5"), Decimal("5.5")),
        ("-0", Decimal(0)),
        ("  ", None),
        (None, None),
    ],
)
def test_price_becomes_an_exact_decimal(raw: object, expected: Decimal | None) -> None:
    got = Product.from_mapping({"id": "a", "name": "A", "price": raw}).price
    assert got == expected
    assert got is None or str(got) == str(expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("true", True),
        ("FALSE", False),
        (" yes ", True),
        ("no", False),
        ("1", True),
        ("0", False),
        ("", True),  # a blank CSV cell: the default
        (None, True),
    ],
)
def test_in_stock_reads_bools_and_csv_text(raw: object, expected: bool) -> None:
    assert Product.from_mapping({"id": "a", "name": "A", "in_stock": raw}).in_stock is expected


def test_int_ids_become_text_and_blank_optional_fields_are_missing() -> None:
    got = Product.from_mapping(
        {"id": 7, "name": "Seven", "url": " ", "category": "", "currency": "", "brand": None}
    )
    assert (got.id, got.url, got.category, got.currency, got.brand) == ("7", None, None, None, None)


def test_unicode_ids_and_names_are_kept_as_given() -> None:
    got = Product.from_mapping({"id": "商品-ß-😀", "name": "Montre «plongée» ⌚"})
    assert (got.id, got.name) == ("商品-ß-😀", "Montre «plongée» ⌚")


@pytest.mark.parametrize(
    ("record", "field", "fragment"),
    [
        ({"name": "A"}, "id", "required"),
        ({"id": "  ", "name": "A"}, "id", "1..255"),
        ({"id": "a" * 256, "name": "A"}, "id", "1..255"),
        ({"id": "a\nb", "name": "A"}, "id", "control"),
        ({"id": "a\u200bb", "name": "A"}, "id", "invisible"),  # zero-width space
        ({"id": "a\ud800", "name": "A"}, "id", "control"),  # lone surrogate
        ({"id": True, "name": "A"}, "id", "expected text"),
        ({"id": 1.5, "name": "A"}, "id", "expected text"),
        ({"id": "a"}, "name", "required"),
        ({"id": "a", "name": "   "}, "name", "required"),
        ({"id": "a", "name": 12}, "name", "expected text"),
        ({"id": "a", "name": "x" * 1001}, "name", "at most 1000"),
        ({"id": "a", "name": "bad\x00name"}, "name", "control"),
        ({"id": "a", "name": "A", "url": "javascript:alert(1)"}, "url", "http(s)"),
        ({"id": "a", "name": "A", "url": " JaVaScRiPt:alert(1)"}, "url", "http(s)"),
        ({"id": "a", "name": "A", "url": "java\tscript:alert(1)"}, "url", "control"),
        ({"id": "a", "name": "A", "url": "data:text/html,<script>"}, "url", "http(s)"),
        ({"id": "a", "name": "A", "url": "vbscript:msgbox"}, "url", "http(s)"),
        ({"id": "a", "name": "A", "url": "ftp://shop.example/x"}, "url", "http(s)"),
        ({"id": "a", "name": "A", "url": "https://"}, "url", "http(s)"),
        ({"id": "a", "name": "A", "url": "http://[::1"}, "url", "http(s)"),
        ({"id": "a", "name": "A", "url": "p/relative"}, "url", "http(s)"),
        ({"id": "a", "name": "A", "url": "//evil.example/x"}, "url", "protocol-relative"),
        ({"id": "a", "name": "A", "url": "/\\evil.example/x"}, "url", "protocol-relative"),
        ({"id": "a", "name": "A", "url": "/a b"}, "url", "spaces"),
        ({"id": "a", "name": "A", "url": "/" + "x" * 2048}, "url", "at most 2048"),
        ({"id": "a", "name": "A", "url": 5}, "url", "expected text"),
        ({"id": "a", "name": "A", "image": "javascript:alert(1)"}, "image", "http(s)"),
        ({"id": "a", "name": "A", "price": "NaN"}, "price", "finite"),
        ({"id": "a", "name": "A", "price": "-Infinity"}, "price", "finite"),
        ({"id": "a", "name": "A", "price": float("nan")}, "price", "finite"),
        ({"id": "a", "name": "A", "price": float("inf")}, "price", "finite"),
        ({"id": "a", "name": "A", "price": Decimal("sNaN")}, "price", "finite"),
        ({"id": "a", "name": "A", "price": -1}, "price", ">= 0"),
        ({"id": "a", "name": "A", "price": "-0.01"}, "price", ">= 0"),
        ({"id": "a", "name": "A", "price": "12,50"}, "price", "not a number"),
        ({"id": "a", "name": "A", "price": "1" * 41}, "price", "not a price"),
        ({"id": "a", "name": "A", "price": 10**400}, "price", "at most"),
        ({"id": "a", "name": "A", "price": "1e999999"}, "price", "at most"),
        ({"id": "a", "name": "A", "price": True}, "price", "got bool"),
        ({"id": "a", "name": "A", "price": [1]}, "price", "got list"),
        ({"id": "a", "name": "A", "currency": "EURO"}, "currency", "ISO 4217"),
        ({"id": "a", "name": "A", "currency": "€"}, "currency", "ISO 4217"),
        ({"id": "a", "name": "A", "currency": 978}, "currency", "expected text"),
        ({"id": "a", "name": "A", "category": 3}, "category", "expected text"),
        ({"id": "a", "name": "A", "category": "c" * 256}, "category", "at most 255"),
        ({"id": "a", "name": "A", "brand": "Ac\x1bme"}, "brand", "control"),
        ({"id": "a", "name": "A", "in_stock": "maybe"}, "in_stock", "true/false"),
        ({"id": "a", "name": "A", "in_stock": 2}, "in_stock", "true/false"),
    ],
)
def test_every_invalid_field_is_named(record: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(CatalogError) as caught:
        Product.from_mapping(record)
    assert caught.value.field == field
    assert fragment in caught.value.message
    assert isinstance(caught.value, ConfigError)


def test_a_product_built_in_code_is_validated_too() -> None:
    # A shop's lookup may build Products itself: a script link must not get through that way.
    with pytest.raises(CatalogError, match="url"):
        Product("a", "A", url="javascript:alert(1)")
    with pytest.raises(CatalogError, match="price"):
        Product("a", "A", price=float("nan"))


def test_from_mapping_rejects_a_non_mapping() -> None:
    with pytest.raises(CatalogError, match="expected an object, got list"):
        Product.from_mapping(["a", "A"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example/p/1?ref=x#top",
        "HTTP://shop.example",
        "/p/1",
        "/",
        "https://商店.example/p",
    ],
)
def test_safe_urls_are_kept(url: str) -> None:
    assert Product("a", "A", url=url).url == url


def test_facet_key_matches_the_reducers_keys() -> None:
    assert facet_key(" Watches ") == "watches"
    assert facet_key("x" * 150) == "x" * 100
    assert facet_key("   ") is None
    assert facet_key(5) is None


# -- MemoryCatalog ---------------------------------------------------------------------------


def test_memory_catalog_looks_up_by_id_category_and_brand() -> None:
    catalog = MemoryCatalog(
        [
            product("a", category="Watches", brand="Acme"),
            product("b", category="watches ", brand="Other"),
            product("c", category="Shoes", brand="ACME"),
        ]
    )
    assert catalog.get("a") == product("a", category="Watches", brand="Acme")
    assert catalog.get("zz") is None
    assert catalog.get(5) is None  # type: ignore[arg-type]
    assert list(catalog.get_many(["c", "zz", "a", "c", 7])) == ["c", "a"]  # type: ignore[list-item]
    assert [p.id for p in catalog.products_in_category("WATCHES")] == ["a", "b"]
    assert [p.id for p in catalog.products_of_brand("acme")] == ["a", "c"]
    assert catalog.products_in_category("toys") == ()
    assert len(catalog) == 3
    assert "a" in catalog
    assert "zz" not in catalog
    assert 1 not in catalog
    assert [p.id for p in catalog] == ["a", "b", "c"]
    assert isinstance(catalog, Catalog)


def test_get_many_refuses_a_bare_string() -> None:
    # Iterating "abc" would look up "a", "b" and "c": a silent bug, so it is refused.
    with pytest.raises(TypeError, match="single string"):
        MemoryCatalog([product("a")]).get_many("abc")


def test_duplicate_ids_name_both_rows() -> None:
    with pytest.raises(CatalogError) as caught:
        MemoryCatalog([product("a"), product("b"), product("a")])
    assert caught.value.field == "products[2].id"
    assert "first at products[0]" in caught.value.message


def test_memory_catalog_refuses_what_is_not_a_product() -> None:
    with pytest.raises(CatalogError) as caught:
        MemoryCatalog([product("a"), "b"])  # type: ignore[list-item]
    assert caught.value.field == "products[1]"


def test_from_records_takes_products_and_mappings() -> None:
    catalog = MemoryCatalog.from_records([product("a"), {"id": "b", "name": "B", "price": 3}])
    assert catalog.get("b") == Product("b", "B", price=Decimal(3))
    with pytest.raises(CatalogError) as caught:
        MemoryCatalog.from_records(
            [{"id": "a", "name": "A"}, {"id": "b", "name": "B", "price": -1}]
        )
    assert caught.value.field == "products[1].price"
    with pytest.raises(CatalogError, match="expected a list"):
        MemoryCatalog.from_records({"id": "a", "name": "A"})  # type: ignore[arg-type]


# -- JSON ------------------------------------------------------------------------------------


def test_from_json_reads_an_array(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(
        '[{"id": "sku-1", "name": "Diver watch", "price": 119.90, "currency": "usd",'
        ' "category": "Watches", "in_stock": false},'
        ' {"id": 2, "name": "Strap", "price": 0.1}]',
        encoding="utf-8",
    )
    catalog = MemoryCatalog.from_json(path)
    first = catalog.get("sku-1")
    assert first is not None
    assert (first.price, first.currency, first.in_stock) == (Decimal("119.90"), "USD", False)
    second = catalog.get("2")
    assert second is not None
    assert str(second.price) == "0.1"  # read as a decimal, never through a float
    assert catalog.source == str(path)


def test_from_json_reads_a_products_object_from_an_open_file() -> None:
    data = json.dumps({"products": [WATCH], "generated": "today"}).encode()
    catalog = MemoryCatalog.from_json(io.BytesIO(b"\xef\xbb\xbf" + data))  # with a BOM
    assert [p.id for p in catalog.products_in_category("watches")] == ["sku-1"]
    catalog = MemoryCatalog.from_json(io.StringIO(json.dumps([WATCH])))
    assert "sku-1" in catalog


def test_json_errors_name_the_file_and_the_row(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(
        json.dumps([WATCH, {"id": "b", "name": "B", "url": "javascript:alert(document.cookie)"}]),
        encoding="utf-8",
    )
    with pytest.raises(CatalogError) as caught:
        MemoryCatalog.from_json(path)
    assert caught.value.source == str(path)
    assert caught.value.field == "products[1].url"
    assert str(path) in str(caught.value)
    assert "products[1].url" in str(caught.value)


def test_json_nan_prices_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text('[{"id": "a", "name": "A", "price": NaN}]', encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        MemoryCatalog.from_json(path)
    assert caught.value.field == "products[0].price"


def test_json_duplicate_ids_name_both_rows(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps([WATCH, {"id": "b", "name": "B"}, WATCH]), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        MemoryCatalog.from_json(path)
    assert caught.value.field == "products[2].id"
    assert "'sku-1'" in caught.value.message
    assert "products[0]" in caught.value.message


@pytest.mark.parametrize(
    ("content", "fragment", "field"),
    [
        (b"[{", "not valid JSON", ""),
        (b'{"items": []}', "'products' array", "products"),
        (b'"a string"', "'products' array", "products"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON", ""),
        (b"\xff\xfe[]", "not UTF-8", ""),
        (b"[1]", "expected a product object, got int", "products[0]"),
    ],
)
def test_broken_json_files_are_reported(
    tmp_path: Path, content: bytes, fragment: str, field: str
) -> None:
    path = tmp_path / "catalog.json"
    path.write_bytes(content)
    with pytest.raises(CatalogError) as caught:
        MemoryCatalog.from_json(path)
    assert fragment in caught.value.message
    assert caught.value.field == field
    assert caught.value.source == str(path)


def test_a_missing_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        MemoryCatalog.from_json(tmp_path / "nope.json")


# -- CSV -------------------------------------------------------------------------------------


def test_from_csv_reads_columns_in_any_order_and_ignores_unknown_ones(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(
        "\ufeffName,ID,Price,Currency,In_Stock,Colour,Category,Brand,URL,Image\n"
        '"Diver watch, steel",sku-1,119.90,eur,no,blue,Watches,Acme,/p/sku-1,\n'
        "\n"
        '"Strap\nleather",sku-2,,,,,Straps,,,https://cdn.example/s.jpg\n',
        encoding="utf-8",
    )
    catalog = MemoryCatalog.from_csv(path)
    assert catalog.get("sku-1") == Product(
        id="sku-1",
        name="Diver watch, steel",
        url="/p/sku-1",
        price=Decimal("119.90"),
        currency="EUR",
        category="Watches",
        brand="Acme",
        in_stock=False,
    )
    assert catalog.get("sku-2") == Product(
        id="sku-2", name="Strap\nleather", image="https://cdn.example/s.jpg", category="Straps"
    )


def test_from_csv_reads_an_open_file_with_short_rows() -> None:
    text = "id,name,price,in_stock\na,A\nb,B,2.5,1\n"
    catalog = MemoryCatalog.from_csv(io.StringIO(text, newline=""))
    assert catalog.get("a") == Product("a", "A")
    assert catalog.get("b") == Product("b", "B", price=Decimal("2.5"), in_stock=True)


def test_csv_errors_name_the_file_row_and_line(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(
        "id,name,price,url\n"
        "a,A,1,/p/a\n"
        "\n"  # skipped, but still counted in line numbers
        "b,B,free,/p/b\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogError) as caught:
        MemoryCatalog.from_csv(path)
    assert caught.value.source == str(path)
    assert caught.value.field == "products[1].price"
    assert "(line 4)" in caught.value.message


def test_csv_javascript_urls_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text("id,name,image\na,A,javascript:alert(1)\n", encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        MemoryCatalog.from_csv(path)
    assert caught.value.field == "products[0].image"


def test_csv_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text("id,name\na,A\nb,B\na,Again\n", encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        MemoryCatalog.from_csv(path)
    assert caught.value.field == "products[2].id"
    assert "(line 4)" in caught.value.message
    assert "products[0] (line 2)" in caught.value.message


@pytest.mark.parametrize(
    ("content", "fragment", "field"),
    [
        ("", "empty file", ""),
        ("name,price\nA,1\n", "no 'id' column", "header"),
        ("id,price\na,1\n", "no 'name' column", "header"),
        ("id,name,ID\na,A,b\n", "appears twice", "header"),
        ("id,name\na,A,extra\n", "3 cells but the header has 2 (line 2)", "products[0]"),
        ("id,name\na,A\n,\n,B\n", "required", "products[1].id"),
        ('id,name\na,"' + "x" * 200_000 + '"\n', "not valid CSV", ""),
    ],
)
def test_broken_csv_files_are_reported(
    tmp_path: Path, content: str, fragment: str, field: str
) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        MemoryCatalog.from_csv(path)
    assert fragment in caught.value.message
    assert field in caught.value.field
    assert caught.value.source == str(path)


# -- CallableCatalog -------------------------------------------------------------------------


class Shop:
    """A stand-in for a shop's ORM: a real function that records every lookup it serves."""

    def __init__(self, products: Iterable[Product | dict[str, Any]]) -> None:
        self.rows = {p.id if isinstance(p, Product) else p["id"]: p for p in products}
        self.calls: list[list[str]] = []
        self.failing = False

    def fetch(self, ids: list[str]) -> Iterator[Product | dict[str, Any]]:
        self.calls.append(list(ids))
        if self.failing:
            raise ConnectionError("database is down")
        return (self.rows[pid] for pid in ids if pid in self.rows)


def test_callable_catalog_caches_hits_and_misses_until_the_ttl() -> None:
    clock = Clock()
    shop = Shop([product("a"), {"id": "b", "name": "B", "price": "9.90"}])
    catalog = CallableCatalog(shop.fetch, ttl=60, timer=clock)
    assert isinstance(catalog, Catalog)

    got = catalog.get_many(["b", "a", "nope"])
    assert list(got) == ["b", "a"]
    assert got["b"] == Product("b", "B", price=Decimal("9.90"))
    assert shop.calls == [["b", "a", "nope"]]

    # Hits and the miss are all answered from the cache, however often the page asks.
    for _ in range(5):
        assert catalog.get("a") == product("a")
        assert catalog.get("nope") is None
        assert list(catalog.get_many(["nope", "b"])) == ["b"]
    assert shop.calls == [["b", "a", "nope"]]

    # Only the ids not cached yet reach the shop.
    assert list(catalog.get_many(["a", "c"])) == ["a"]
    assert shop.calls[-1] == ["c"]

    clock.advance(59)
    catalog.get_many(["a", "b", "nope"])
    assert len(shop.calls) == 2
    clock.advance(2)
    catalog.get_many(["a", "b", "nope"])
    assert shop.calls[-1] == ["a", "b", "nope"]


def test_a_product_added_later_is_seen_once_the_miss_expires() -> None:
    clock = Clock()
    shop = Shop([])
    catalog = CallableCatalog(shop.fetch, ttl=300, timer=clock)
    assert catalog.get("new") is None
    shop.rows["new"] = product("new")
    assert catalog.get("new") is None  # the cached miss
    clock.advance(301)
    assert catalog.get("new") == product("new")


def test_invalidate_forgets_cached_answers() -> None:
    shop = Shop([product("a"), product("b")])
    catalog = CallableCatalog(shop.fetch, timer=Clock())
    catalog.get_many(["a", "b"])
    catalog.invalidate(["a"])
    catalog.get_many(["a", "b"])
    assert shop.calls[-1] == ["a"]
    catalog.invalidate()
    catalog.get_many(["a", "b"])
    assert shop.calls[-1] == ["a", "b"]


def test_a_failing_lookup_raises_catalog_unavailable_and_is_not_cached() -> None:
    shop = Shop([product("a")])
    catalog = CallableCatalog(shop.fetch, timer=Clock())
    shop.failing = True
    with pytest.raises(CatalogUnavailable) as caught:
        catalog.get_many(["a"])
    assert isinstance(caught.value, PersonalizeError)
    assert isinstance(caught.value.__cause__, ConnectionError)
    assert "database is down" in str(caught.value)
    with pytest.raises(CatalogUnavailable):
        catalog.get("a")
    shop.failing = False
    assert catalog.get("a") == product("a")  # asked again: the failure was not cached
    assert len(shop.calls) == 3


def test_a_lazy_result_that_fails_while_iterated_is_unavailable_too() -> None:
    def fetch(ids: list[str]) -> Iterator[Product]:
        yield product(ids[0])
        raise TimeoutError("query timed out")

    with pytest.raises(CatalogUnavailable, match="TimeoutError"):
        CallableCatalog(fetch, timer=Clock()).get_many(["a", "b"])


def test_invalid_records_from_the_shop_are_named_and_not_cached() -> None:
    shop = Shop([{"id": "a", "name": "A", "url": "javascript:alert(1)"}])
    catalog = CallableCatalog(shop.fetch, timer=Clock())
    for _ in range(2):
        with pytest.raises(CatalogError) as caught:
            catalog.get("a")
        assert caught.value.field == "fetch()[0].url"
    assert len(shop.calls) == 2

    def wrong_type(ids: list[str]) -> list[object]:
        return [("a", "A")]

    with pytest.raises(CatalogError) as caught:
        CallableCatalog(wrong_type, timer=Clock()).get("a")  # type: ignore[arg-type]
    assert caught.value.field == "fetch()[0]"


def test_records_that_were_not_asked_for_are_ignored() -> None:
    def fetch(ids: list[str]) -> list[Product]:
        return [product("other"), *(product(pid) for pid in ids)]

    catalog = CallableCatalog(fetch, timer=Clock())
    assert list(catalog.get_many(["a"])) == ["a"]
    assert catalog.get_many(["other"]) == {"other": product("other")}


def test_the_cache_holds_at_most_maxsize_ids() -> None:
    shop = Shop([product(str(i)) for i in range(10)])
    catalog = CallableCatalog(shop.fetch, maxsize=3, timer=Clock())
    catalog.get_many([str(i) for i in range(10)])
    catalog.get_many(["0"])
    assert shop.calls[-1] == ["0"]  # evicted, fetched again


def test_concurrent_lookups_all_get_their_products() -> None:
    shop = Shop([product(str(i)) for i in range(200)])
    catalog = CallableCatalog(shop.fetch, maxsize=50, timer=Clock())
    errors: list[str] = []

    def worker(offset: int) -> None:
        for round_ in range(50):
            ids = [str((offset * 7 + round_ + i) % 250) for i in range(5)]
            got = catalog.get_many(ids)
            expected = [pid for pid in ids if int(pid) < 200]
            if list(got) != expected or any(got[pid].id != pid for pid in got):
                errors.append(f"{ids} -> {list(got)}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"maxsize": 0}, "maxsize"),
        ({"maxsize": 2.5}, "maxsize"),
        ({"ttl": 0}, "ttl"),
        ({"ttl": float("nan")}, "ttl"),
        ({"ttl": True}, "ttl"),
    ],
)
def test_callable_catalog_settings_are_checked(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        CallableCatalog(Shop([]).fetch, **kwargs)
    assert caught.value.field == field


def test_callable_catalog_needs_a_callable() -> None:
    with pytest.raises(ConfigError) as caught:
        CallableCatalog({"a": product("a")})  # type: ignore[arg-type]
    assert caught.value.field == "fetch"


# -- as_catalog ------------------------------------------------------------------------------


def test_as_catalog_accepts_every_documented_form(tmp_path: Path) -> None:
    assert as_catalog(None) is None
    memory = MemoryCatalog([product("a")])
    assert as_catalog(memory) is memory
    callable_catalog = CallableCatalog(Shop([]).fetch)
    assert as_catalog(callable_catalog) is callable_catalog

    from_mapping = as_catalog(
        {"a": {"name": "A"}, "b": product("b"), "c": {"id": "c", "name": "C"}}
    )
    assert from_mapping is not None
    assert from_mapping.get_many(["a", "b", "c"]) == {
        "a": Product("a", "A"),
        "b": product("b"),
        "c": Product("c", "C"),
    }
    from_list = as_catalog([product("a"), {"id": "b", "name": "B"}])
    assert from_list is not None
    assert set(from_list.get_many(["a", "b"])) == {"a", "b"}

    json_path = tmp_path / "catalog.JSON"
    json_path.write_text(json.dumps([WATCH]), encoding="utf-8")
    csv_path = tmp_path / "catalog.csv"
    csv_path.write_text("id,name\nsku-9,Nine\n", encoding="utf-8")
    for path in (json_path, str(json_path)):
        loaded = as_catalog(path)
        assert loaded is not None
        assert loaded.get("sku-1") == Product.from_mapping(WATCH)
    loaded = as_catalog(str(csv_path))
    assert loaded is not None
    assert loaded.get("sku-9") == Product("sku-9", "Nine")


def test_as_catalog_reports_what_it_cannot_use(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as caught:
        as_catalog({"a": {"id": "b", "name": "B"}})
    assert caught.value.field == "products['a'].id"
    with pytest.raises(CatalogError) as caught:
        as_catalog({"a": {"name": "A", "price": "NaN"}})
    assert caught.value.field == "products['a'].price"
    with pytest.raises(CatalogError, match=r"\.json or \.csv"):
        as_catalog(tmp_path / "catalog.xml")
    with pytest.raises(CatalogError) as caught:
        as_catalog(42)
    assert caught.value.field == "catalog"
    with pytest.raises(CatalogError, match="cannot read"):
        as_catalog(tmp_path / "missing.csv")
