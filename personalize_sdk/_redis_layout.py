"""Where `RedisStore` keeps things, and the Lua scripts that change them atomically.

Every key of one shopper carries the same hash tag, so a shopper's keys live in one Redis
Cluster slot and a script may touch them together:

    {prefix}{v:<visitor id>}:p    the visitor's anonymous profile: hash {d: msgpack, v: version}
    {prefix}{v:<visitor id>}:l    the user id the visitor is linked to (string)
    {prefix}{u:<user id>}:p       the customer's profile
    {prefix}{u:<user id>}:vs      the visitor ids linked to the customer (set): a device
                                  that signed in as another customer since stays in it, so
                                  a link is deleted only if it still points here
                                  (`UNLINK_IF_LINKED`)

Profiles change by compare-and-set on their version (`CAS_WRITE`): a writer reads (data,
version), folds its events, and writes only if nobody wrote in between, otherwise reads again.
A script touches one shopper's slot only, so it works the same on a single server and on a
cluster. The reason for CAS over MULTI/WATCH: one round trip per batch of writes in the common
case (the writer usually knows the version already), and no connection pinned per transaction.

Every change is announced to the other processes on `KeyLayout.channel` (`invalidation`).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgpack

CAS_WRITE = """
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local version = redis.call('HGET', KEYS[1], 'v')
if version == false then version = '' end
if version ~= ARGV[1] then return 0 end
local written = redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('HSET', KEYS[1], 'd', ARGV[2])
local ttl = tonumber(ARGV[3])
if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return written
"""
"""KEYS: profile, link (visitor profiles only). ARGV: expected version ('' for none), data,
TTL seconds (0: none), '1' to refuse when the visitor got linked meanwhile. Returns the new
version, 0 on a version conflict, -1 when the visitor is linked now."""

LINK_VISITOR = """
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
return redis.call('HMGET', KEYS[1], 'd', 'v')
"""
"""KEYS: visitor profile, link. ARGV: user id, link TTL. Links the visitor (from now on every
write for it goes to the customer) and returns its profile [data, version], which stays until
it has been merged into the customer's: a crash in between loses nothing, the next identify of
that visitor merges it (merging is idempotent)."""

READ_VISITOR = """
local user = redis.call('GET', KEYS[1])
if user then return {user} end
local found = redis.call('HMGET', KEYS[2], 'd', 'v')
return {false, found[1], found[2]}
"""
"""KEYS: link, visitor profile. Returns [user id] when the visitor is linked, else [nil, data,
version] of the visitor's own profile (nil, nil when it has none): what a page of a visitor this
process knows nothing of needs, in one round trip and one command."""

READ_SHOPPER = """
local user = redis.call('GET', KEYS[1])
local key = KEYS[2]
if user then key = ARGV[1] .. user .. ARGV[2] end
local found = redis.call('HMGET', key, 'd', 'v')
return {user, found[1], found[2]}
"""
"""`READ_VISITOR` that follows the link: KEYS as there, ARGV: the customer's profile key around
its user id (`KeyLayout.customer_profile_around`). Returns [user id or nil, data, version] of
the profile the visitor's page shows, the customer's when linked: one round trip for a signed-in
shopper too. It reads a key of another slot: a cluster whose other node holds that slot refuses
it, and `RedisStore` then sends `READ_VISITOR` and reads the customer apart."""


UNLINK_IF_LINKED = """
local user = redis.call('GET', KEYS[1])
if user == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
if user then return 0 end
return 1
"""
"""KEYS: link. ARGV: user id. Deletes the visitor's link if it points to that customer still;
returns 0 when it points to another one (the device signed in as someone else since: left
alone), 1 otherwise (unlinked, or not linked at all). One key: it runs on a cluster too."""


class KeyLayout:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.channel = f"{prefix}invalidate"

    def profile(self, key: str) -> str:
        """Redis key of the profile stored under `key` ("v:<id>" or "u:<id>")."""
        return f"{self.prefix}{{{key}}}:p"

    def customer_profile_around(self) -> tuple[str, str]:
        """The profile key of a customer as (before, after) its user id, for `READ_SHOPPER`."""
        before, _, after = self.profile("u:\0").partition("\0")
        return before, after

    def link(self, visitor_id: str) -> str:
        return f"{self.prefix}{{v:{visitor_id}}}:l"

    def visitors(self, user_id: str) -> str:
        return f"{self.prefix}{{u:{user_id}}}:vs"


def invalidation(sender: str, keys: Iterable[str]) -> bytes:
    """The notice on `KeyLayout.channel` that the store `sender` changed `keys`: a msgpack
    list, so that a key survives whatever its id holds (a space, a newline)."""
    return msgpack.packb([sender, *keys], use_bin_type=True)


def read_invalidation(data: bytes) -> tuple[str, list[str]] | None:
    """(sender, keys) of an `invalidation`; None for anything else published on the channel."""
    try:
        items = msgpack.unpackb(data, raw=False)
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
        return None
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        return None
    return items[0], items[1:]
