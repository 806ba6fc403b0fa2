"""Geography: haversine distances, fences (edge, antimeridian, poles), config, shopper locations."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from personalize_sdk._exceptions import ConfigError
from personalize_sdk.geo import EARTH_RADIUS_KM, KM_PER_MILE, GeoFence, distance_km, location_of

LONDON = (51.5074, -0.1278)
PARIS = (48.8566, 2.3522)
STORE = (51.5138, -0.0984)  # a shop by St Paul's Cathedral
HALF_CIRCUMFERENCE = math.pi * EARTH_RADIUS_KM  # 20015.114 km


def destination(lat: float, lon: float, bearing: float, km: float) -> tuple[float, float]:
    """The point `km` from (lat, lon) along the great circle at `bearing` degrees (spherical)."""
    phi1, lambda1, theta = math.radians(lat), math.radians(lon), math.radians(bearing)
    delta = km / EARTH_RADIUS_KM
    phi2 = math.asin(
        math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta)
    )
    lambda2 = lambda1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi1),
        math.cos(delta) - math.sin(phi1) * math.sin(phi2),
    )
    lon2 = (math.degrees(lambda2) + 540) % 360 - 180
    return math.degrees(phi2), lon2


# -- distances ----------------------------------------------------------------------------------


def test_london_to_paris() -> None:
    assert distance_km(*LONDON, *PARIS) == pytest.approx(343.5, abs=0.1)
    assert distance_km(*PARIS, *LONDON) == distance_km(*LONDON, *PARIS)


def test_new_york_to_los_angeles() -> None:
    assert distance_km(40.7128, -74.0060, 34.0522, -118.2437) == pytest.approx(3935.75, abs=0.1)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((0, 0), (0, 180)),
        ((90, 0), (-90, 0)),
        ((10, 20), (-10, -160)),
        (LONDON, (-51.5074, 179.8722)),
    ],
)
def test_antipodes_are_half_a_circumference_apart(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    assert distance_km(*a, *b) == pytest.approx(HALF_CIRCUMFERENCE, abs=0.01)


@pytest.mark.parametrize("point", [(0.0, 0.0), LONDON, (90.0, 45.0), (-90.0, -45.0), (0.0, 180.0)])
def test_the_same_point_is_zero_km_away(point: tuple[float, float]) -> None:
    assert distance_km(*point, *point) == 0.0


def test_one_degree_is_111_km_on_the_equator_and_along_meridians() -> None:
    one_degree = 2 * math.pi * EARTH_RADIUS_KM / 360
    assert distance_km(0, 0, 0, 1) == pytest.approx(one_degree, rel=1e-12)
    assert distance_km(10, 30, 11, 30) == pytest.approx(one_degree, rel=1e-12)
    assert distance_km(60, 0, 60, 1) == pytest.approx(55.6, abs=0.1)  # cos(60) shrinks longitude


def test_across_the_antimeridian_and_at_the_poles() -> None:
    assert distance_km(0, 179.9, 0, -179.9) == pytest.approx(22.239, abs=0.001)
    assert distance_km(0, -180, 0, 180) == pytest.approx(0.0, abs=1e-9)
    assert distance_km(90, 0, 90, 123) == pytest.approx(0.0, abs=1e-9)  # every longitude
    assert distance_km(89, 0, 89, 180) == pytest.approx(222.4, abs=0.1)  # over the pole


# -- fences -------------------------------------------------------------------------------------


def test_a_one_mile_fence_around_a_store() -> None:
    fence = GeoFence.from_dict({"lat": STORE[0], "lon": STORE[1], "radius_miles": 1})
    assert fence.radius_km == KM_PER_MILE
    assert fence.contains(*STORE)
    for bearing in range(0, 360, 15):
        assert fence.contains(*destination(*STORE, bearing, 0.999 * KM_PER_MILE)), bearing
        assert not fence.contains(*destination(*STORE, bearing, 1.001 * KM_PER_MILE)), bearing
    assert fence.contains(*LONDON) is False  # Charing Cross, 2.1 km west
    assert fence.contains(*PARIS) is False


def test_the_edge_is_inside() -> None:
    fence = GeoFence(0.0, 0.0, distance_km(0, 0, 0, 0.01))
    assert fence.contains(0.0, 0.01)
    assert fence.contains(0.0, -0.01)
    assert not fence.contains(0.0, 0.0100001)


def test_points_exactly_on_the_edge_are_inside() -> None:
    # The fence's radius is the point's own distance, so only rounding separates in from out: the
    # bounding box must leave the call to haversine (an exact-degree box rejects about 1 in 4).
    rng = random.Random(1)
    for _ in range(3000):
        lat, lon = rng.uniform(-89, 89), rng.uniform(-180, 180)
        step = rng.choice([-1, 1]) * 10 ** rng.uniform(-9, 0)
        point = (lat + step, lon) if rng.random() < 0.5 else (lat, lon + step)
        radius = distance_km(lat, lon, *point)
        assert GeoFence(lat, lon, radius).contains(*point), (lat, lon, point)


@pytest.mark.parametrize(
    "center",
    [(0.0, 179.99), (0.0, -179.99), (0.0, 180.0), (-17.7, 178.4), (65.0, -179.5)],
)
def test_fences_across_the_antimeridian(center: tuple[float, float]) -> None:
    fence = GeoFence(center[0], center[1], 50.0)
    for bearing in range(0, 360, 10):
        inside = destination(*center, bearing, 49.9)
        outside = destination(*center, bearing, 50.1)
        assert fence.contains(*inside), (bearing, inside)
        assert not fence.contains(*outside), (bearing, outside)
    assert fence.contains(center[0], -center[1] if abs(center[1]) == 180 else center[1])


def test_a_fence_at_the_north_pole_holds_every_longitude() -> None:
    pole = GeoFence(90.0, 0.0, 100.0)
    for lon in (-180.0, -90.0, 0.0, 45.0, 179.0):
        assert pole.contains(89.2, lon)  # 89 km from the pole
        assert not pole.contains(89.0, lon)  # 111 km
    assert pole.contains(90.0, 77.0)


def test_a_fence_reaching_over_the_south_pole() -> None:
    fence = GeoFence(-89.9, 0.0, 50.0)  # 11 km from the pole
    assert fence.contains(-89.9, 180.0)  # 22 km away, across the pole
    assert fence.contains(-90.0, 0.0)
    assert not fence.contains(-89.0, 180.0)  # 122 km away
    for bearing in range(0, 360, 20):
        assert fence.contains(*destination(-89.9, 0.0, bearing, 49.9))
        assert not fence.contains(*destination(-89.9, 0.0, bearing, 50.1))


def test_huge_fences() -> None:
    hemisphere = GeoFence(0.0, 0.0, HALF_CIRCUMFERENCE / 2)
    assert hemisphere.contains(0.0, 89.9)
    assert not hemisphere.contains(0.0, 90.1)
    everywhere = GeoFence(*LONDON, 30_000.0)
    assert everywhere.contains(-51.5074, 179.8722)  # London's antipode


@pytest.mark.parametrize(
    "point",
    [(math.nan, 0.0), (0.0, math.nan), (math.inf, 0.0), (0.0, math.inf), (-math.inf, -math.inf)],
)
def test_non_finite_points_are_outside(point: tuple[float, float]) -> None:
    assert GeoFence(0.0, 0.0, 30_000.0).contains(*point) is False


def _check_box_agrees_with_haversine(fence: GeoFence, rng: random.Random) -> None:
    angle = math.degrees(fence.radius_km / EARTH_RADIUS_KM)
    for _ in range(200):
        # Points within a few radii, most of them near the edge.
        lat = max(-90.0, min(90.0, fence.lat + rng.uniform(-1.5, 1.5) * angle))
        lon = (fence.lon + rng.uniform(-3, 3) * angle + 540) % 360 - 180
        expected = distance_km(fence.lat, fence.lon, lat, lon) <= fence.radius_km
        assert fence.contains(lat, lon) is expected, (fence, lat, lon)


@pytest.mark.parametrize("center_lat", [-89.999, -60.0, -1.0, 0.0, 33.3, 51.5138, 80.0, 89.9])
@pytest.mark.parametrize("radius_km", [0.001, 1.609344, 25.0, 800.0, 9000.0])
def test_the_bounding_box_never_rejects_a_point_inside(center_lat: float, radius_km: float) -> None:
    rng = random.Random(f"{center_lat}/{radius_km}")
    for center_lon in (-180.0, -0.0984, 179.95):
        _check_box_agrees_with_haversine(GeoFence(center_lat, center_lon, radius_km), rng)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    radius_km=st.floats(1e-6, 25_000),
    bearing=st.floats(0, 360),
    fraction=st.floats(0, 3),
)
def test_contains_agrees_with_the_distance(
    lat: float, lon: float, radius_km: float, bearing: float, fraction: float
) -> None:
    fence = GeoFence(lat, lon, radius_km)
    point = destination(lat, lon, bearing, radius_km * fraction)
    expected = distance_km(lat, lon, *point) <= radius_km
    assert fence.contains(*point) is expected


def test_fences_are_frozen_value_objects() -> None:
    fence = GeoFence(51, 0, 2)
    assert (fence.lat, fence.lon, fence.radius_km) == (51.0, 0.0, 2.0)
    assert all(type(value) is float for value in (fence.lat, fence.lon, fence.radius_km))
    assert fence == GeoFence(51.0, 0.0, 2.0)
    assert repr(fence) == "GeoFence(lat=51.0, lon=0.0, radius_km=2.0)"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fence.lat = 0.0  # type: ignore[misc]


# -- fences from config -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"lat": 51.5, "lon": -0.1, "radius_km": 2}, GeoFence(51.5, -0.1, 2.0)),
        ({"latitude": 51.5, "longitude": -0.1, "radius_km": 2.5}, GeoFence(51.5, -0.1, 2.5)),
        ({"lat": -90, "longitude": 180, "radius_miles": 10}, GeoFence(-90, 180, 16.09344)),
        ({"lat": 0, "lon": 0, "radius_miles": 0.5}, GeoFence(0, 0, 0.804672)),
    ],
)
def test_fences_from_config(raw: dict[str, Any], expected: GeoFence) -> None:
    fence = GeoFence.from_dict(raw)
    assert fence.lat == expected.lat and fence.lon == expected.lon
    assert fence.radius_km == pytest.approx(expected.radius_km, rel=1e-15)


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ([51.5, -0.1, 2], "geo", "expected a table, got list"),
        ("london", "geo", "expected a table, got str"),
        ({"lat": 1, "lon": 1, "radius": 1}, "geo.radius", "unknown key"),
        ({"lat": 1, "lon": 1, "radius_km": 1, "lng": 1}, "geo.lng", "unknown key"),
        ({"lon": 1, "radius_km": 1}, "geo.lat", "missing: give exactly one of lat or latitude"),
        ({"lat": 1, "radius_km": 1}, "geo.lon", "missing"),
        ({"lat": 1, "lon": 1}, "geo.radius_km", "missing: give exactly one of radius_km or"),
        ({"lat": 1, "latitude": 1, "lon": 1, "radius_km": 1}, "geo.lat", "given twice"),
        ({"lat": 1, "lon": 1, "longitude": 1, "radius_km": 1}, "geo.lon", "given twice"),
        ({"lat": 1, "lon": 1, "radius_km": 1, "radius_miles": 1}, "geo.radius_km", "given twice"),
        ({"lat": 90.0001, "lon": 0, "radius_km": 1}, "geo.lat", "within -90..90"),
        ({"latitude": -91, "lon": 0, "radius_km": 1}, "geo.latitude", "within -90..90"),
        ({"lat": 0, "lon": 180.5, "radius_km": 1}, "geo.lon", "within -180..180"),
        ({"lat": 0, "longitude": -181, "radius_km": 1}, "geo.longitude", "within -180..180"),
        ({"lat": math.nan, "lon": 0, "radius_km": 1}, "geo.lat", "within -90..90"),
        ({"lat": 0, "lon": math.inf, "radius_km": 1}, "geo.lon", "within -180..180"),
        ({"lat": 10**400, "lon": 0, "radius_km": 1}, "geo.lat", "within -90..90"),
        ({"lat": "51.5", "lon": 0, "radius_km": 1}, "geo.lat", "number of degrees, got str"),
        ({"lat": True, "lon": 0, "radius_km": 1}, "geo.lat", "got bool"),
        ({"lat": 0, "lon": None, "radius_km": 1}, "geo.lon", "got NoneType"),
        ({"lat": 0, "lon": Decimal("1"), "radius_km": 1}, "geo.lon", "got Decimal"),
        ({"lat": 0, "lon": 0, "radius_km": 0}, "geo.radius_km", "positive and finite"),
        ({"lat": 0, "lon": 0, "radius_km": -1}, "geo.radius_km", "positive and finite"),
        ({"lat": 0, "lon": 0, "radius_km": math.inf}, "geo.radius_km", "positive and finite"),
        ({"lat": 0, "lon": 0, "radius_km": math.nan}, "geo.radius_km", "positive and finite"),
        ({"lat": 0, "lon": 0, "radius_km": True}, "geo.radius_km", "got bool"),
        ({"lat": 0, "lon": 0, "radius_miles": "1"}, "geo.radius_miles", "got str"),
        ({"lat": 0, "lon": 0, "radius_miles": -0.0}, "geo.radius_miles", "positive and finite"),
        ({"lat": 0, "lon": 0, "radius_miles": 1.5e308}, "geo.radius_miles", "positive and finite"),
    ],
)
def test_config_errors_name_the_field(raw: Any, field: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        GeoFence.from_dict(raw)
    assert raised.value.field == field


def test_errors_are_prefixed_with_the_given_field() -> None:
    with pytest.raises(ConfigError) as raised:
        GeoFence.from_dict({"lat": 0, "lon": 0, "radius_km": 0}, field="campaigns[1].audience.geo")
    assert raised.value.field == "campaigns[1].audience.geo.radius_km"
    assert str(raised.value).startswith("campaigns[1].audience.geo.radius_km: ")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((91, 0, 1), "lat"),
        ((0, -180.01, 1), "lon"),
        (("0", 0, 1), "lat"),
        ((0, 0, 0), "radius_km"),
        ((0, 0, math.inf), "radius_km"),
        ((0, 0, None), "radius_km"),
    ],
)
def test_fences_built_in_code_are_checked(args: tuple[Any, ...], field: str) -> None:
    with pytest.raises(ConfigError) as raised:
        GeoFence(*args)
    assert raised.value.field == field


# -- a shopper's location -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("traits", "expected"),
    [
        ({"location": {"lat": 51.5, "lon": -0.1}}, (51.5, -0.1)),
        ({"location": {"latitude": 51.5, "longitude": -0.1}}, (51.5, -0.1)),
        ({"location": {"lat": 51.5, "lng": -0.1}}, (51.5, -0.1)),
        ({"location": {"lat": 51, "lon": 0}}, (51.0, 0.0)),
        ({"location": {"lat": -90, "lon": 180, "city": "?"}}, (-90.0, 180.0)),
        ({"latitude": 48.8566, "longitude": 2.3522}, (48.8566, 2.3522)),
        ({"latitude": 0, "longitude": -180, "tier": "gold"}, (0.0, -180.0)),
        # `location` comes first; if it holds no valid pair, the top-level pair is used.
        ({"location": {"lat": 1, "lon": 2}, "latitude": 3, "longitude": 4}, (1.0, 2.0)),
        ({"location": {"city": "London"}, "latitude": 3, "longitude": 4}, (3.0, 4.0)),
        ({"location": "London", "latitude": 3, "longitude": 4}, (3.0, 4.0)),
        ({"location": {"lat": 1, "latitude": 2, "lon": 3}}, (1.0, 3.0)),
    ],
)
def test_location_of(traits: dict[str, Any], expected: tuple[float, float]) -> None:
    found = location_of(traits)
    assert found == expected
    assert found is not None and all(type(value) is float for value in found)


class _Raising(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("getitem")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("iter")

    def __len__(self) -> int:
        raise RuntimeError("len")


class _LyingFloat(float):
    def __le__(self, other: object) -> bool:
        raise RuntimeError("compare")

    def __ge__(self, other: object) -> bool:
        raise RuntimeError("compare")


@pytest.mark.parametrize(
    "traits",
    [
        None,
        [],
        "51.5,-0.1",
        (51.5, -0.1),
        {},
        {"tier": "gold"},
        {"location": None},
        {"location": "London"},
        {"location": [51.5, -0.1]},
        {"location": {"lat": "51.5", "lon": "-0.1"}},
        {"location": {"lat": 51.5}},
        {"location": {"lon": -0.1}},
        {"location": {"lat": None, "lon": -0.1}},
        {"location": {"lat": math.nan, "lon": 0}},
        {"location": {"lat": 0, "lon": math.inf}},
        {"location": {"lat": 90.5, "lon": 0}},
        {"location": {"lat": 0, "lon": -180.5}},
        {"location": {"lat": True, "lon": False}},
        {"location": {"lat": Decimal("51.5"), "lon": Decimal("0")}},
        {"location": {"lat": 10**400, "lon": 0}},
        {"location": {"lat": [51.5], "lon": [0]}},
        {"location": {"lat": {"$gt": 0}, "lon": 0}},
        {"latitude": 51.5},
        {"latitude": "51.5", "longitude": "-0.1"},
        {"latitude": 51.5, "longitude": math.nan},
        {"latitude": -math.inf, "longitude": 0},
        {"lat": 51.5, "lon": -0.1},  # only `location` holds lat/lon
        {"location": _Raising()},
        {"location": {"lat": _LyingFloat(1.0), "lon": 0.0}},
        _Raising(),
    ],
)
def test_malformed_traits_have_no_location(traits: Any) -> None:
    assert location_of(traits) is None
