"""What a message sent with a client key may do (pure: the token check and the time passed in).

A client key (`[collector] write_keys`) is shipped in pages and apps, so anyone may send with
it, naming any customer's user id. Taken at its word, an identify would link the sender's device
to that customer (their pages then show the customer's name, cart and recently viewed products),
an alias would merge the customer into the sender, and events would be written into the
customer's profile. So, on a client key:

- an **identify** (or group) links the device to `userId` only when its
  ``context.personalize.userToken`` is a token the shop issued for that user id
  (`Personalizer.user_token`); without one its traits go to the anonymous visitor alone;
- an **alias** never merges customers: with its `previousId` the sender's own `anonymousId` and
  a token for `userId`, it links that device (as the identify would); anything else is refused
  (the sender picks both ids: an alias from "42" to its own account would take customer 42's
  profile);
- an **event** (track, page, screen) lands on its `anonymousId`: on the customer once a vouched
  identify linked that device, else on the visitor. Its `userId` is not used (nor forwarded);
  an event with a `userId` and no `anonymousId` is not applied;
- every message's `messageId` gets ``c:`` before it (`client_message_id`): neither the
  collector's de-duplication nor a profile takes a backend's message for a retry of a
  client's;
- what only the shop can know is refused: the widget interactions (`SERVER_ONLY_EVENTS`:
  `Widget Shown` and the rest come from the beacon, which checks the campaign, the variant and
  the caps) and the orders, refunds and cancellations (a forged order would buy the
  `high_value` segment's offers and rig the shop's bestsellers).

A server key (`server_keys`, the shop's own backends) is trusted with user ids as they come.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from .. import events as ev
from ..events import Event
from .messages import Alias, Identify, Inbound

SERVER_ONLY_EVENTS: frozenset[str] = frozenset({
    ev.WIDGET_SHOWN, ev.WIDGET_CLICKED, ev.WIDGET_DISMISSED, ev.COUPON_COPIED,
    ev.EXIT_SURVEY_ANSWERED, ev.ORDER_COMPLETED, ev.ORDER_UPDATED, ev.ORDER_REFUNDED,
    ev.ORDER_CANCELLED,
})  # fmt: skip
"""Events a client key may not send: the beacon's own, and the shop's orders."""

Vouches = Callable[[object, str], bool]
"""(token, user id) -> whether the token is the shop's, for that user id, and not expired."""


def from_client(item: Inbound, vouches: Vouches) -> tuple[Inbound, bool]:
    """What to apply of `item`, sent with a client key (None: nothing), and whether it asked
    for what a client key may not do (an identify or alias without a good token, an order or
    a widget event, an event with a userId and no anonymousId)."""
    if item is None:
        return None, False
    if type(item) is Event:
        if item.name in SERVER_ONLY_EVENTS:
            return None, True
        if item.user_id is not None and item.visitor_id is None:
            return None, True
        # Its userId unused (as every client event's: not a warning); its messageId its own,
        # so that a profile that saw it does not take the backend's event of that id for a
        # retry of it.
        return item._replace(user_id=None, message_id=client_message_id(item.message_id)), False
    if type(item) is Alias:
        visitor_id = item.visitor_id
        if visitor_id is None or item.previous_id != visitor_id:
            return None, True
        if not vouches(item.user_token, item.user_id):
            return None, True
        # A device link, as a vouched identify makes: the visitor's history joins the customer.
        message_id = _own(item.message_id)
        return Identify(visitor_id, item.user_id, {}, message_id, item.user_token), False
    assert type(item) is Identify
    item = item._replace(message_id=_own(item.message_id))
    if item.user_id is None or vouches(item.user_token, item.user_id):
        return item, False
    if item.visitor_id is None:
        return None, True
    return item._replace(user_id=None), True


def client_message_id(message_id: str) -> str:
    """A client's messageId, apart from the server keys' (in the collector's de-duplication and
    in the profile alike): ``"c:"`` before it (a digest for one too long to take two more
    characters)."""
    if len(message_id) <= 253:
        return "c:" + message_id
    return "c:" + hashlib.sha256(message_id.encode("utf-8")).hexdigest()


def _own(message_id: str | None) -> str | None:
    return None if message_id is None else client_message_id(message_id)
