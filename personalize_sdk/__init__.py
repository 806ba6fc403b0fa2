"""personalize-sdk: storefront personalisation inside your own Python backend.

from personalize_sdk import Personalizer, Page

pz = Personalizer.from_file("personalize.toml")
pz.track(visitor_id, "Product Viewed", {"product_id": "sku-1", "price": 120.0})
pz.segments(visitor_id)
"""

from ._exceptions import (
    CatalogError,
    CatalogUnavailable,
    ConfigError,
    CopyError,
    InvalidEvent,
    PersonalizeError,
    StoreUnavailable,
)
from ._limits import EventLimits
from .beacon import BeaconResult
from .campaign_verdict import CampaignVerdict
from .catalog import CallableCatalog, Catalog, MemoryCatalog, Product
from .config import Config, SegmentDefinition, Settings
from .intent import IntentExplanation, IntentFactor
from .memory_store import MemoryStore
from .page import Page
from .personalizer import Explanation, Personalizer
from .profile import Cart, CartItem, Profile, PurchaseHistory, Session
from .sqlite_store import SQLiteStore
from .store import Store
from .widget import Widget

__version__ = "0.1.0"

__all__ = [
    "BeaconResult",
    "CallableCatalog",
    "CampaignVerdict",
    "Cart",
    "CartItem",
    "Catalog",
    "CatalogError",
    "CatalogUnavailable",
    "Config",
    "ConfigError",
    "CopyError",
    "EventLimits",
    "Explanation",
    "IntentExplanation",
    "IntentFactor",
    "InvalidEvent",
    "MemoryCatalog",
    "MemoryStore",
    "Page",
    "PersonalizeError",
    "Personalizer",
    "Product",
    "Profile",
    "PurchaseHistory",
    "SQLiteStore",
    "SegmentDefinition",
    "Session",
    "Settings",
    "Store",
    "StoreUnavailable",
    "Widget",
    "__version__",
]
