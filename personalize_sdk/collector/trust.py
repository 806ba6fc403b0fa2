"""What a message sent with a client key may do (pure: the token check and the time passed in).

A client key (`[collector] write_keys`) is shipped in pages and apps, so anyone may send with
it, naming any customer's user id. Taken at its word, an identify would link the sender's device
to that customer (their pages then show the customer's name, cart and recently viewed products),
an alias would merge the customer into the sender, and events would be written into the
customer's profile. So, on a client key:

- an **identify** (or group) links the device to `userId` only when its
  ``context.personalize.userToken`` is a token the shop issued for that user id
  (`Personalizer.user_token`); without one its traits go to the anonymous visitor alone;
- an **alias** is applied only when its `previousId` is the sender's own `anonymousId` and its
  token vouches for `userId`;
- an **event** (track, page, screen) lands on its `anonymousId`: on the customer once a vouched
  identify linked that device, else on the visitor. Its `userId` is not used (nor forwarded);
  an event with a `userId` and no `anonymousId` is not applied.

A server key (`server_keys`, the shop's own backends) is trusted with user ids as they come.
"""

from __future__ import annotations

from collections.abc import Callable

from ..events import Event
from .messages import Alias, Identify, Inbound

Vouches = Callable[[object, str], bool]
"""(token, user id) -> whether the token is the shop's, for that user id, and not expired."""


def from_client(item: Inbound, vouches: Vouches) -> tuple[Inbound, bool]:
    """What to apply of `item`, sent with a client key (None: nothing), and whether it asked
    for what a client key may not do (an identify or alias without a good token, an event
    with a userId and no anonymousId)."""
    if item is None:
        return None, False
    if type(item) is Event:
        user_id = item.user_id
        if user_id is None:
            return item, False
        if item.visitor_id is None:
            return None, True
        return item._replace(user_id=None), False  # as the client's every event: not a warning
    if type(item) is Alias:
        trusted = item.previous_id == item.visitor_id and vouches(item.user_token, item.user_id)
        return (item, False) if trusted else (None, True)
    assert type(item) is Identify
    if item.user_id is None or vouches(item.user_token, item.user_id):
        return item, False
    if item.visitor_id is None:
        return None, True
    return item._replace(user_id=None), True
