"""Geography: great-circle distance, a circular `GeoFence`, and a shopper's coordinates.

```toml
audience = { geo = { lat = 51.5138, lon = -0.0984, radius_miles = 1 } }
```

Distances are haversine on a sphere of the mean Earth radius (6371.0088 km, IUGG): within 0.5 %
of the ellipsoid everywhere, far finer than the precision of a shopper's location.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from ._config_tables import is_number, known_table
from ._exceptions import ConfigError

__all__ = ["EARTH_RADIUS_KM", "KM_PER_MILE", "GeoFence", "distance_km", "location_of"]

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), in kilometres."""
KM_PER_MILE = 1.609344
"""The international mile, exactly."""

_asin = math.asin
_cos = math.cos
_radians = math.radians
_sin = math.sin
_sqrt = math.sqrt


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two points given in degrees."""
    phi1 = _radians(lat1)
    phi2 = _radians(lat2)
    half_dphi = _sin((phi2 - phi1) / 2)
    half_dlambda = _sin(_radians(lon2 - lon1) / 2)
    a = half_dphi * half_dphi + _cos(phi1) * _cos(phi2) * half_dlambda * half_dlambda
    # Rounding can push `a` a hair above 1 for antipodal points; asin would then fail.
    return 2 * EARTH_RADIUS_KM * _asin(_sqrt(min(a, 1.0)))


def _widen(degrees: float) -> float:
    return degrees * (1 + 1e-6) + 1e-9  # 1e-9 degrees is about 0.1 mm


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _coordinate(value: object, limit: float, name: str) -> float:
    if not _is_number(value):
        raise ConfigError(f"expected a number of degrees, got {type(value).__name__}", field=name)
    if not -limit <= value <= limit:  # also rejects NaN
        raise ConfigError(
            f"must be within -{limit:g}..{limit:g} degrees, got {value!r}", field=name
        )
    return float(value)  # type: ignore[arg-type]  # checked to be a number above


@attrs.frozen
class GeoFence:
    """A circle on the globe: points within `radius_km` of (`lat`, `lon`), edge included."""

    lat: float
    lon: float
    radius_km: float
    # A bounding box, worked out once, rejects most far-away points before any trigonometry.
    _max_dlat: float = attrs.field(init=False, repr=False, eq=False)
    _max_dlon: float = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "lat", _coordinate(self.lat, 90, "lat"))
        set_(self, "lon", _coordinate(self.lon, 180, "lon"))
        radius = self.radius_km
        if not _is_number(radius):
            raise ConfigError(f"expected a number, got {type(radius).__name__}", field="radius_km")
        if not is_number(radius) or radius <= 0:  # NaN, infinite, or too big for a float
            raise ConfigError(f"must be positive and finite, got {radius!r}", field="radius_km")
        set_(self, "radius_km", float(radius))
        angle = radius / EARTH_RADIUS_KM  # the circle's angular radius, in radians
        # Latitude: no point of the circle is further than `angle` north or south of the centre.
        # Longitude: the circle spans asin(sin(angle) / cos(lat)) either side, unless it reaches a
        # pole (then every longitude). The box is only a filter, so it is a hair too big: haversine
        # loses some relative precision on tiny distances, and the edge must stay haversine's call.
        set_(self, "_max_dlat", _widen(math.degrees(angle)))
        lat = _radians(self.lat)
        if angle >= math.pi / 2 or abs(lat) + angle >= math.pi / 2:
            max_dlon = 180.0
        else:
            max_dlon = _widen(math.degrees(_asin(min(1.0, _sin(angle) / _cos(lat)))))
        set_(self, "_max_dlon", max_dlon)

    def contains(self, lat: float, lon: float) -> bool:
        """Whether (`lat`, `lon`), in degrees, is within the fence (NaN and infinities are not)."""
        # `not x <= limit` rather than `x > limit`: NaN (from NaN or an infinity) fails it too.
        if not abs(lat - self.lat) <= self._max_dlat:
            return False
        dlon = abs(lon - self.lon) % 360.0
        if dlon > 180.0:  # across the antimeridian: 179 and -179 are 2 degrees apart
            dlon = 360.0 - dlon
        if not dlon <= self._max_dlon:
            return False
        return distance_km(self.lat, self.lon, lat, lon) <= self.radius_km

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, field: str = "geo") -> GeoFence:
        """Read ``{lat, lon, radius_km}``: `latitude`/`longitude` name the centre too, and
        `radius_miles` may replace `radius_km` (exactly one of them).

        Every problem is a `ConfigError` naming ``f"{field}.<key>"``.
        """
        raw = known_table(raw, _FENCE_KEYS, field)
        lat_key = _one_of(raw, ("lat", "latitude"), field)
        lon_key = _one_of(raw, ("lon", "longitude"), field)
        radius_key = _one_of(raw, ("radius_km", "radius_miles"), field)
        lat = _coordinate(raw[lat_key], 90, f"{field}.{lat_key}")
        lon = _coordinate(raw[lon_key], 180, f"{field}.{lon_key}")
        radius = raw[radius_key]
        where = f"{field}.{radius_key}"
        if not _is_number(radius):
            raise ConfigError(f"expected a number, got {type(radius).__name__}", field=where)
        if not is_number(radius) or radius <= 0:  # NaN, infinite, or too big for a float
            raise ConfigError(f"must be positive and finite, got {radius!r}", field=where)
        radius_km = radius * KM_PER_MILE if radius_key == "radius_miles" else radius
        if radius_km == math.inf:  # a finite number of miles can overflow in kilometres
            raise ConfigError(f"must be positive and finite, got {radius!r}", field=where)
        return cls(lat, lon, radius_km)


_FENCE_KEYS = frozenset({"lat", "latitude", "lon", "longitude", "radius_km", "radius_miles"})


def _one_of(raw: Mapping[str, Any], keys: tuple[str, str], field: str) -> str:
    given = [key for key in keys if key in raw]
    if len(given) != 1:
        problem = "missing" if not given else "given twice"
        raise ConfigError(
            f"{problem}: give exactly one of {' or '.join(keys)}", field=f"{field}.{keys[0]}"
        )
    return given[0]


_LAT_KEYS = ("lat", "latitude")
_LON_KEYS = ("lon", "lng", "longitude")


def location_of(traits: Mapping[str, Any]) -> tuple[float, float] | None:
    """A shopper's (lat, lon) from profile traits, or None when they hold no valid coordinates.

    Reads ``traits["location"]`` (a mapping with `lat`/`latitude` and `lon`/`lng`/`longitude`),
    else top-level `latitude`/`longitude`. Values must be numbers (not bools, not text) within
    range. Never raises: traits are shopper data, and a bad one only means "location unknown".
    """
    try:
        if not isinstance(traits, Mapping):
            return None
        location = traits.get("location")
        if isinstance(location, Mapping):
            found = _pair(_first(location, _LAT_KEYS), _first(location, _LON_KEYS))
            if found is not None:
                return found
        return _pair(traits.get("latitude"), traits.get("longitude"))
    except Exception:  # noqa: BLE001 - a hostile Mapping (raising get) is "no location"
        return None


def _first(mapping: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


def _pair(lat: Any, lon: Any) -> tuple[float, float] | None:
    if (
        _is_number(lat)
        and _is_number(lon)
        and -90 <= lat <= 90  # false for NaN
        and -180 <= lon <= 180
    ):
        return (float(lat), float(lon))
    return None
