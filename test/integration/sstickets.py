"""Tickets (docs/PROTOCOL.md, "Ticket format") in Python, independent of the C code.

Used to forge tickets the tool refuses to mint (a `next` of "//evil.example",
...), to check the tool's output, and to flip bits.  python3-nacl 1.5 has no
crypto_kdf_derive_from_key; it is BLAKE2b keyed with the master key, the
subkey id (8 bytes little-endian, padded to 16) as salt and the context
(padded to 16) as personalisation, over an empty message."""

import base64
import os
import struct
import time

import nacl.bindings as sodium

CONTEXT = b"ShSessV1"
MODE_SCRIPT = 1
MODE_NAVIGATION = 2
MODE_COOKIE_PAIRS = 0x10


def kdf(size, subkey_id, key, context=CONTEXT):
    return sodium.crypto_generichash_blake2b_salt_personal(
        b"", digest_size=size, key=key,
        salt=struct.pack("<Q", subkey_id) + b"\0" * 8,
        person=context + b"\0" * (16 - len(context)))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def master_key(b64text):
    key = base64.b64decode(b64text.strip())
    assert len(key) == 32
    return key


def key_from_file(path):
    """The 32-byte master key in a key file."""
    with open(path) as f:
        return master_key(f.read())


def derive(key):
    """(EK, kid) of a master key."""
    return kdf(32, 1, key), kdf(16, 2, key)[:4]


def seal(key, src, dst, session="user=alice", mode=MODE_SCRIPT, next_="",
         iat=None, nonce=None, raw_payload=None, state=None):
    """A ticket, with no validation at all (that is the point); with a
    state (S, 16 bytes) a version-2 ticket bound to it."""
    ek, kid = derive(key)
    iat = int(time.time()) if iat is None else iat
    nonce = os.urandom(24) if nonce is None else nonce
    if raw_payload is None:
        src_b = src.encode()
        next_b = next_.encode()
        payload = (struct.pack(">Q", iat) + bytes([mode]) + bytes([len(src_b)])
                   + src_b + struct.pack(">H", len(next_b)) + next_b
                   + session.encode())
    else:
        payload = raw_payload
    if state is not None:
        ad = b"\x02" + kid + dst.encode() + state
        c = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(payload, ad, nonce, ek)
        return b64url(b"\x02" + kid + state + nonce + c)
    ad = b"\x01" + kid + dst.encode()
    c = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(payload, ad, nonce, ek)
    return b64url(b"\x01" + kid + nonce + c)


# ---------------------------------------------------------------------------
# The state of a navigation flow: the cookie B sets in `start`.

def state_of(text):
    """S of a state cookie's text: BLAKE2b-16, unkeyed."""
    return sodium.crypto_generichash_blake2b_salt_personal(text.encode(), digest_size=16)


def state_text(to=None, random_part=None):
    """A state cookie's text: base64url(16 random bytes)[.base64url(to)]."""
    text = b64url(os.urandom(16) if random_part is None else random_part)
    return text + ("." + b64url(to.encode()) if to else "")


def state_cookie_name(s, secure=False):
    return ("__Host-ssst-" if secure else "ssst-") + b64url(s)[:8]


def state_cookie(text, secure=False):
    """'name=text' as a browser sends it back."""
    return f"{state_cookie_name(state_of(text), secure)}={text}"


def ticket_state(ticket):
    """S from a version-2 ticket's clear header, or None for version 1."""
    raw = unb64url(ticket)
    return raw[5:21] if raw[0] == 2 else None


def open_(key, dst, ticket):
    """Decrypts a ticket; returns a dict of its fields (raises on failure)."""
    ek, kid = derive(key)
    t = unb64url(ticket)
    if t[0] not in (1, 2) or t[1:5] != kid:
        raise ValueError("unknown-key")
    state = None
    if t[0] == 2:
        state, t = t[5:21], t[:5] + t[21:]
    nonce, c = t[5:29], t[29:]
    p = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        c, bytes([t[0]]) + kid + dst.encode() + (state or b""), nonce, ek)
    iat = struct.unpack(">Q", p[:8])[0]
    mode = p[8]
    srclen = p[9]
    src = p[10:10 + srclen].decode()
    off = 10 + srclen
    nextlen = struct.unpack(">H", p[off:off + 2])[0]
    next_ = p[off + 2:off + 2 + nextlen].decode()
    session = p[off + 2 + nextlen:].decode()
    return {"iat": iat, "mode": mode, "src": src, "next": next_,
            "session": session, "nonce": nonce, "kid": kid, "version": t[0],
            "state": state}


def flip_char(ticket, pos):
    """The ticket with the character at pos replaced by another base64url
    character (a change inside the ciphertext when pos is past the header)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    c = ticket[pos]
    repl = alphabet[(alphabet.index(c) + 1) % 64]
    return ticket[:pos] + repl + ticket[pos + 1:]


# Generations (docs/PROTOCOL.md, "Generations"): shared-session-gen = T.D
GEN_ENTRY = "shared-session-gen"


def gen_digest(key, t, entries):
    """D (32 hex digits) of T and the entries (a dict of decoded strings;
    expiry, the generation itself and local keys already left out)."""
    msg = str(t).encode() + b"\0"
    for k, v in sorted((k.encode(), v.encode()) for k, v in entries.items()):
        msg += k + b"\0" + v + b"\0"
    return sodium.crypto_generichash_blake2b_salt_personal(
        msg, digest_size=16, key=kdf(32, 3, key)).hex()


def gen_of(session):
    """(T, D) of a session dict's generation, or None."""
    text = session.get(GEN_ENTRY)
    if not text:
        return None
    t, d = text.split(".")
    return int(t), d


def gen_verifies(key, session, local=()):
    """True when the session dict carries a generation whose D is the digest
    of its other entries under key."""
    g = gen_of(session)
    if not g:
        return False
    rest = {k: v for k, v in session.items()
            if k not in (GEN_ENTRY, "expiry") and k not in local and k and v}
    return gen_digest(key, g[0], rest) == g[1]


def gen_text(key, t, entries):
    """The value of shared-session-gen for these entries at T."""
    return f"{t}.{gen_digest(key, t, entries)}"
