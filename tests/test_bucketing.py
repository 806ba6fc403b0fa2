"""Bucketing: GrowthBook conformance, FNV-1a over UTF-8, uniformity and stickiness."""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from personalize_sdk.bucketing import (
    bucket_ranges,
    choose_variation,
    fnv1a32,
    hash,
    in_range,
)

CASES_FILE = Path(__file__).parent / "conformance" / "growthbook-cases.json"
CASES: dict[str, Any] = json.loads(CASES_FILE.read_text(encoding="utf-8"))
HASH_CASES: list[list[Any]] = CASES["hash"]
BUCKET_RANGE_CASES: list[list[Any]] = CASES["getBucketRange"]
CHOOSE_VARIATION_CASES: list[list[Any]] = CASES["chooseVariation"]


def test_conformance_file_has_the_expected_bucketing_cases() -> None:
    assert (len(HASH_CASES), len(BUCKET_RANGE_CASES), len(CHOOSE_VARIATION_CASES)) == (15, 13, 13)


# -- GrowthBook conformance ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "value", "version", "expected"),
    HASH_CASES,
    ids=[f"v{case[2]}-{case[0]!r}-{case[1]!r}" for case in HASH_CASES],
)
def test_growthbook_hash_case(seed: str, value: str, version: int, expected: float | None) -> None:
    assert hash(seed, value, version) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [case[1:] for case in BUCKET_RANGE_CASES],
    ids=[case[0] for case in BUCKET_RANGE_CASES],
)
def test_growthbook_get_bucket_range_case(args: list[Any], expected: list[list[float]]) -> None:
    num_variations, coverage, weights = args
    ranges = bucket_ranges(num_variations, coverage, weights)
    assert isinstance(ranges, tuple)
    assert len(ranges) == len(expected)
    for (start, end), (want_start, want_end) in zip(ranges, expected, strict=True):
        assert start == pytest.approx(want_start, abs=1e-12)
        assert end == pytest.approx(want_end, abs=1e-12)


@pytest.mark.parametrize(
    ("n", "ranges", "expected"),
    [case[1:] for case in CHOOSE_VARIATION_CASES],
    ids=[case[0] for case in CHOOSE_VARIATION_CASES],
)
def test_growthbook_choose_variation_case(
    n: float, ranges: list[list[float]], expected: int
) -> None:
    assert choose_variation(n, ranges) == expected
    assert choose_variation(n, tuple(tuple(r) for r in ranges)) == expected


# -- the hash -----------------------------------------------------------------------------------


def _textbook_fnv1a32(data: bytes) -> int:
    """FNV-1a as its authors define it (http://www.isthe.com/chongo/tech/comp/fnv/)."""
    h = 2166136261
    for byte in data:
        h ^= byte
        h = (h * 16777619) % 2**32
    return h


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Test vectors of the FNV reference code (test_fnv.c, FNV1A_32 column).
        ("", 0x811C9DC5),
        ("a", 0xE40C292C),
        ("foobar", 0xBF9CF968),
    ],
)
def test_fnv1a32_matches_the_reference_vectors(text: str, expected: int) -> None:
    assert fnv1a32(text) == expected


@pytest.mark.parametrize(
    "text",
    ["é", "日本語", "😀", "naïve-ß-Ω", "\u0000", "a\u200db", "\ud800", "x" * 1000],
    ids=["latin1", "cjk", "emoji", "mixed", "nul", "zwj", "lone-surrogate", "long"],
)
def test_fnv1a32_hashes_utf8_bytes(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    assert fnv1a32(text) == _textbook_fnv1a32(data)
    assert 0 <= fnv1a32(text) < 2**32


@pytest.mark.parametrize(
    ("seed", "value", "version"),
    [
        ("seed", "é", 2),
        ("caf\u00e9", "visitor-日本", 2),
        ("", "😀", 2),
        ("seed", "\ud83d", 2),
        ("seed", "é", 1),
        ("😀", "visitor", 1),
    ],
)
def test_unicode_values_hash_their_utf8_bytes(seed: str, value: str, version: int) -> None:
    def utf8(text: str) -> bytes:
        return text.encode("utf-8", "surrogatepass")

    if version == 2:
        inner = _textbook_fnv1a32(utf8(seed + value))
        expected = (_textbook_fnv1a32(str(inner).encode()) % 10000) / 10000
    else:
        expected = (_textbook_fnv1a32(utf8(value + seed)) % 1000) / 1000
    assert hash(seed, value, version) == expected


def test_unicode_hash_values_are_pinned() -> None:
    # Pinned so a change of encoding cannot pass unnoticed. GrowthBook's JavaScript SDK, which
    # hashes UTF-16 code units, gives 0.8663, 0.4482 and 0.4346 for these three.
    assert hash("seed", "é") == 0.9593
    assert hash("seed", "日本語") == 0.9898
    assert hash("seed", "😀") == 0.6493
    assert hash("seed", "a") == 0.0505  # ASCII: the same as every GrowthBook SDK


def test_composed_and_decomposed_text_hash_differently() -> None:
    # The hash is over the exact text: callers normalise ids if they need to.
    assert hash("seed", "caf\u00e9") != hash("seed", "cafe\u0301")


@pytest.mark.parametrize("version", [0, 3, 99, -1, True, False, None, "2", "1", 2.5])
def test_unknown_versions_give_none(version: Any) -> None:
    assert hash("abc", "def", version) is None


def test_float_versions_equal_to_1_or_2_are_those_versions() -> None:
    # As in JavaScript, where 2.0 === 2.
    assert hash("seed", "a", 2.0) == hash("seed", "a", 2) == 0.0505  # type: ignore[arg-type]
    assert hash("", "a", 1.0) == hash("", "a", 1) == 0.22  # type: ignore[arg-type]


def test_version_2_is_the_default() -> None:
    assert hash("seed", "b") == 0.2696


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize(
    ("seed", "value", "bad"),
    [("seed", 5, "value"), ("seed", b"v", "value"), ("seed", None, "value"), (5, "v", "seed"),
     (None, "v", "seed"), (["s"], "v", "seed")],
)  # fmt: skip
def test_non_text_arguments_raise_type_error(seed: Any, value: Any, bad: str, version: int) -> None:
    with pytest.raises(TypeError, match=f"{bad} must be str"):
        hash(seed, value, version)


def test_str_subclasses_hash_like_their_text() -> None:
    class Id(str):
        pass

    assert hash(Id("seed"), Id("a")) == hash("seed", "a")
    assert hash(Id("seed"), Id("a"), 1) == hash("seed", "a", 1)


def test_hash_values_are_in_the_unit_interval_with_the_documented_precision() -> None:
    for i in range(2000):
        n2 = hash("precision", f"v-{i}")
        n1 = hash("precision", f"v-{i}", 1)
        assert n2 is not None and n1 is not None
        assert 0 <= n2 < 1 and 0 <= n1 < 1
        assert round(n2 * 10000) == pytest.approx(n2 * 10000, abs=1e-6)
        assert round(n1 * 1000) == pytest.approx(n1 * 1000, abs=1e-6)


def test_the_seed_changes_the_assignment() -> None:
    same = sum(hash("seed-a", f"v-{i}") == hash("seed-b", f"v-{i}") for i in range(1000))
    assert same < 10  # 4-decimal values: equal by chance about 1 in 10,000


# -- uniformity ---------------------------------------------------------------------------------

VISITORS = 100_000

# Upper-tail critical values of the chi-square distribution at probability 0.999 (significance
# 0.001), from the NIST/SEMATECH e-Handbook of Statistical Methods, section 1.3.6.7.4, "Critical
# Values of the Chi-Square Distribution" (https://www.itl.nist.gov/div898/handbook/eda/section3/
# eda3674.htm): 10.828 for 1 degree of freedom, 16.266 for 3.
CHI_SQUARE_0999 = {1: 10.828, 3: 16.266}


def _chi_square(observed: list[int], expected: list[float]) -> float:
    return sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))


@pytest.mark.parametrize("seed", ["homepage-hero", "exit-intent-popup"])
@pytest.mark.parametrize(
    "weights", [[0.25, 0.25, 0.25, 0.25], [0.9, 0.1]], ids=["4-way-equal", "90-10"]
)
def test_assignments_follow_the_weights(seed: str, weights: list[float]) -> None:
    ranges = bucket_ranges(len(weights), 1.0, weights)
    counts = [0] * len(weights)
    for i in range(VISITORS):
        n = hash(seed, f"v-{i}")
        assert n is not None
        counts[choose_variation(n, ranges)] += 1
    expected = [VISITORS * weight for weight in weights]
    statistic = _chi_square(counts, expected)
    assert statistic < CHI_SQUARE_0999[len(weights) - 1], (counts, statistic)


def test_the_chi_square_check_can_fail() -> None:
    # The same statistic flags an assignment that ignores a weight (90/10 counted as 50/50).
    assert _chi_square([50_000, 50_000], [90_000.0, 10_000.0]) > CHI_SQUARE_0999[1]
    assert _chi_square([25_500, 25_000, 25_000, 24_500], [25_000.0] * 4) > CHI_SQUARE_0999[3]


def test_reduced_coverage_keeps_included_visitors_in_their_variation() -> None:
    full = bucket_ranges(3, 1.0, [0.2, 0.3, 0.5])
    half = bucket_ranges(3, 0.5, [0.2, 0.3, 0.5])
    included = 0
    for i in range(5000):
        n = hash("coverage", f"v-{i}")
        assert n is not None
        narrowed = choose_variation(n, half)
        if narrowed != -1:
            included += 1
            assert narrowed == choose_variation(n, full)
    assert 2250 < included < 2750  # about half of 5000


# -- stickiness ---------------------------------------------------------------------------------

STICKY_IDS = [f"v-{i}" for i in range(50)] + ["é", "日本語", "😀", "shopper@example.com"]


def _assignments() -> list[int]:
    ranges = bucket_ranges(3, 1.0, [0.5, 0.3, 0.2])
    return [choose_variation(hash("sticky", visitor) or 0.0, ranges) for visitor in STICKY_IDS]


def test_the_same_visitor_gets_the_same_variation_every_time() -> None:
    first = _assignments()
    assert set(first) == {0, 1, 2}
    for _ in range(5):
        assert _assignments() == first


@pytest.mark.parametrize("hash_seed", ["0", "1", "12345"])
def test_assignments_are_the_same_in_another_process(hash_seed: str) -> None:
    # Python's own str hash changes with PYTHONHASHSEED; the bucketing hash must not.
    script = (
        "import json, sys\n"
        "from personalize_sdk.bucketing import bucket_ranges, choose_variation, hash\n"
        "ids = json.loads(sys.stdin.read())\n"
        "ranges = bucket_ranges(3, 1.0, [0.5, 0.3, 0.2])\n"
        "print(json.dumps([choose_variation(hash('sticky', v) or 0.0, ranges) for v in ids]))\n"
        "print(json.dumps([hash('sticky', v) for v in ids]))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(STICKY_IDS),
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parent.parent,
        check=True,
        timeout=60,
    )
    assignments, values = (json.loads(line) for line in result.stdout.splitlines())
    assert assignments == _assignments()
    assert values == [hash("sticky", visitor) for visitor in STICKY_IDS]


# -- bucket ranges: beyond the conformance cases ------------------------------------------------


def test_ranges_partition_the_unit_interval_at_full_coverage() -> None:
    ranges = bucket_ranges(5, 1.0, [0.1, 0.2, 0.3, 0.15, 0.25])
    assert ranges[0][0] == 0
    for (_, end), (start, _) in itertools.pairwise(ranges):
        assert end == start
    assert ranges[-1][1] == pytest.approx(1.0)


def test_no_weights_and_default_coverage_give_equal_slices() -> None:
    assert bucket_ranges(2) == ((0.0, 0.5), (0.5, 1.0))
    assert bucket_ranges(1) == ((0.0, 1.0),)


@pytest.mark.parametrize("num_variations", [0, -1, -100])
def test_no_variations_give_no_ranges(num_variations: int) -> None:
    assert bucket_ranges(num_variations) == ()
    assert choose_variation(0.5, bucket_ranges(num_variations)) == -1


@pytest.mark.parametrize(
    "weights",
    [[1.5, -0.5], [float("nan"), 1.0], [float("inf"), 0.0], [-0.0, 1.0 + 1e-3, -1e-3]],
    ids=["negative", "nan", "infinite", "tiny-negative"],
)
def test_negative_or_non_finite_weights_fall_back_to_equal(weights: list[float]) -> None:
    equal = bucket_ranges(len(weights))
    assert bucket_ranges(len(weights), 1.0, weights) == equal


def test_a_zero_weight_gives_an_empty_range() -> None:
    ranges = bucket_ranges(3, 1.0, [0.5, 0.0, 0.5])
    assert ranges == ((0.0, 0.5), (0.5, 0.5), (0.5, 1.0))
    assert choose_variation(0.5, ranges) == 2


@pytest.mark.parametrize("coverage", [-math.inf, math.inf, 1e308, -1e308])
def test_infinite_or_huge_coverage_is_clamped(coverage: float) -> None:
    expected = bucket_ranges(2, 0.0 if coverage < 0 else 1.0)
    assert bucket_ranges(2, coverage) == expected


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((2, math.nan), ValueError, "coverage is NaN"),
        ((2, "1"), TypeError, "coverage must be a number"),
        ((2, True), TypeError, "coverage must be a number"),
        ((2, None), TypeError, "coverage must be a number"),
        ((2.0,), TypeError, "num_variations must be int"),
        ((True,), TypeError, "num_variations must be int"),
        (("2",), TypeError, "num_variations must be int"),
        ((2, 1.0, ["0.5", "0.5"]), TypeError, "weights must be numbers"),
        ((2, 1.0, [True, False]), TypeError, "weights must be numbers"),
        ((3, 1.0, [0.5, None]), TypeError, "weights must be numbers"),
    ],
)
def test_bad_arguments_raise_clear_errors(
    args: tuple[Any, ...], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        bucket_ranges(*args)


def test_weights_may_be_any_sequence() -> None:
    assert bucket_ranges(2, 1.0, (0.4, 0.6)) == bucket_ranges(2, 1.0, [0.4, 0.6])
    assert bucket_ranges(2, 1, [1, 0]) == ((0.0, 1.0), (1.0, 1.0))


# -- in_range / choose_variation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "bucket", "expected"),
    [
        (0.0, (0.0, 0.5), True),
        (0.4999, (0.0, 0.5), True),
        (0.5, (0.0, 0.5), False),  # the end is exclusive
        (0.5, (0.5, 0.5), False),  # an empty range holds nothing
        (-0.1, (0.0, 0.5), False),
        (math.nan, (0.0, 1.0), False),
    ],
)
def test_in_range(n: float, bucket: tuple[float, float], expected: bool) -> None:
    assert in_range(n, bucket) is expected
    assert in_range(n, list(bucket)) is expected


def test_choose_variation_takes_the_first_matching_range() -> None:
    overlapping = [(0.0, 0.6), (0.4, 1.0)]
    assert choose_variation(0.5, overlapping) == 0
    assert choose_variation(0.7, overlapping) == 1
    assert choose_variation(math.nan, overlapping) == -1
    assert choose_variation(0.5, []) == -1
