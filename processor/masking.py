"""Secret masking: credentials in a line become ``***`` before anything leaves the processor, while
identifiers, counters, code and prose that merely look like them (``blk_-4532015112830366``,
``token=Token{...}``, ``password: null``) stay as they are. Each kind masked is counted in
:attr:`Masker.lines_masked`, once per line that had it:

============ =================================================================================
kind         what, and what is kept
============ =================================================================================
url_password ``scheme://user:PASSWORD@host`` (also ``:\\/\\/``), unless a placeholder; the user stays
pair         a key that is or ends in ``password``, ``passwd``, ``secret``, ``secret_key``,
             ``secret_access_key``, ``token`` or ``api_key`` (``db_password``, ``X-Api-Key``,
             ``accessToken``, ``newpassword``), then ``=``, ``=>`` or ``:``
             (prose, logfmt, YAML, JSON, escaped JSON) and a value that is a credential
             (:func:`credential`: a password assigned with ``=`` or quoted is taken as it is); the key stays
bearer       ``Bearer TOKEN`` when the token is a credential
basic_auth   ``Authorization: Basic CREDENTIALS`` that decode to ``user:password``
aws_key      AWS access key ids, ``AKIA``/``ASIA`` + 16 upper-case letters or digits; the prefix stays
api_token    anywhere: GitHub (``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``, ``github_pat_``),
             Stripe secret and restricted (``sk_``/``rk_`` + ``live_``/``test_``), Slack (``xoxb-``
             and the like, ``xapp-``) and npm (``npm_``) tokens; the prefix stays
jwt          anywhere: JSON Web Tokens (``eyJ`` header ``.`` ``eyJ`` payload ``.`` signature)
private_key  PEM ``-----BEGIN ... PRIVATE KEY-----`` blocks, to the END line or the end of the text;
             BEGIN and END stay. A block printed line by line is followed with :meth:`Masker.block_opens`
             and :meth:`Masker.inside_block`: up to 100 lines between BEGIN and END become ``***``
card         13-19 digits in a row, or 4-4-4-4 (Amex 4-6-5) groups split by one space or dash, with an
             issuer's prefix and length and a valid Luhn check (:func:`card_number`), standing alone:
             no letter, digit, ``_``, ``-``, ``+`` or ``.`` glued on, nor in a row of numbers; the last
             four stay
secret_field a decoded JSON/logfmt value (string or number) that is a credential, under a pair's key
custom       matches of the configured ``mask_patterns`` regex (its ``secret`` group if it has one)
============ =================================================================================
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Callable
from typing import Any, Final

import orjson

from logfleet.core.errors import ConfigError
from processor.parse import Parsed

MASK: Final = "***"

_URL, _PAIR, _AUTH, _AWS, _PEM, _CARD, _CUSTOM, _TOKEN = 1, 2, 4, 8, 16, 32, 64, 128  # families' flags
_DECODING: Final = frozenset({"json", "logfmt"})  # formats whose values are unescaped when parsed

_URL_AUTH: Final = re.compile(r"""(:\\?/\\?/[^:/?#@\s"'\\]*:)([^/?#\s"'\\]+)@""")
# A key that names a secret: one of these words alone or ending a longer key (db_password, X-Api-Key,
# accessToken, newpassword; chpasswd too: its value decides).
_WORDS: Final = r"passw(?:or)?d|secret(?:[_-]?(?:access[_-]?)?key)?|token|api[_-]?key"
_KEY: Final = rf"((?i:{_WORDS}))"
_PAIR_RE: Final = re.compile(
    _KEY + r"""(\\?["'])?([ \t]*:[ \t]*|=>?|[ \t]+=>?[ \t]+)"""
    r"""(\\"(?:[^"\\]|\\[^"])*\\"|"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s"'`,;&{}\[\]()<>\\]+)"""
)
_SECRET_KEY: Final = re.compile(_KEY + r"\Z")
_BEARER: Final = re.compile(r"(?<![A-Za-z])(?i:bearer)\s+([A-Za-z0-9\-._~+/]{8,}=*)")
_BASIC: Final = re.compile(
    r"""(?i:authorization)(?:\\?["'])?\s*[:=]\s*(?:\\?["'])?(?i:basic)\s+([A-Za-z0-9+/]{4,}=*)"""
)
# What a value is when it is no credential: a word that says there is none, a placeholder or template,
# or (checked where the key or the layout leaves doubt) code, a name, a path, a date or an address.
_PLACEHOLDER: Final = re.compile(
    r"[^A-Za-z0-9]*(?i:null|nil|none|true|false|undefined|empty|unset|n/a|na|redacted|masked|hidden|removed"
    r"|filtered|omitted|sensitive|invalid|incorrect|wrong|expired|missing|required|changed|reset|ok|yes|no)"
    r"[^A-Za-z0-9]*|[*xX#.?_-]+|[<\[{(].*|\$\{.*|\$[A-Za-z_]\w*|%[sdvr]?|\{\{.*",
    re.DOTALL,
)
_NOT_A_CREDENTIAL: Final = re.compile(
    r"[A-Za-z_$][\w$]*(?:\.[\w$]+)*[{(\[<]"  # code: Token{...}, Foo(...)
    r"|[a-z]+\.[a-z]"  # a dotted name: com.apple.xpc, android.os.BinderProxy@2bd79ce, db.internal
    r"|[A-Z]\w*@[0-9a-f]{5,8}\Z"  # an object's identity: BinderProxy@2bd79ce
    r"|[\w.+-]+@[\w-]+\.[\w.]+\Z"  # an e-mail address
    r"|\.{0,2}/|~/"  # a path
    r"|[0-9]+(?:[.:/-][0-9]+)+\Z"  # a date, a time, a version, an address
)
_SYMBOLS: Final = frozenset("!@#$%^&*+=?~")
_AWS_RE: Final = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)([A-Z0-9]{16})(?![A-Z0-9])")
# Tokens whose prefix says what they are (GitHub, Stripe secret and restricted keys, Slack, npm)
# and JSON Web Tokens (a base64url JSON header and payload, both starting "eyJ", and a signature).
_TOKEN_RE: Final = re.compile(
    r"(?<![A-Za-z0-9_])(gh[pousr]_|github_pat_|[rs]k_(?:live|test)_|xox[abeoprs]-|xapp-|npm_)"
    r"([A-Za-z0-9_-]{10,})"
)
_TOKEN_BODY: Final = {"gh": 36, "gi": 50, "np": 36}  # shortest body by prefix; others 10
_JWT_RE: Final = re.compile(r"(?<![\w-])eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]*")
_TOKEN_HINT: Final = re.compile(r"_(?:(?<=gh[pousr]_|npm_|pat_)|(?<=k_live_|k_test_))")
_PEM_RE: Final = re.compile(
    r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)(.+?)(-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.DOTALL
)
_PEM_BEGIN: Final = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_PEM_END: Final = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY-----")
# A card number stands alone: 13-19 digits in a row, or 4-4-4-4 (Amex 4-6-5) groups with one space or
# dash between them, and no letter, digit, "_", "-", "+" or "." (but a full stop) glued on either side.
_CARD_RE: Final = re.compile(  # starts with [2-6], not the look-behind, so that re can skip ahead fast
    r"[2-6](?<![\w.+-][2-6])"
    r"(?:[0-9]{12,18}|[0-9]{3}([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{4}|(?<=3)[47][0-9]{2}([ -])[0-9]{6}\2[0-9]{5})"
    r"(?![\w+-]|\.\w)"
)

# bytes.translate table: digits -> "0", everything else -> "x" (spaces and dashes are deleted).
_DIGIT_TABLE: Final = bytes(0x30 if 0x30 <= b <= 0x39 else 0x78 for b in range(256))
_THIRTEEN: Final = b"0" * 13


def luhn(digits: str) -> bool:
    """True if the digit string passes the Luhn check (the checksum of payment card numbers)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position & 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _masked(
    kind: str, found: set[str], group: int = 1, accept: Callable[[re.Match[str]], bool] | None = None
) -> Callable[[re.Match[str]], str]:
    """A replacement that masks one group of the match and keeps the rest, if ``accept`` takes the match."""

    def replace(match: re.Match[str]) -> str:
        if accept is not None and not accept(match):
            return match.group(0)
        found.add(kind)
        start, end = match.span(group)
        if start < 0:  # the group did not take part in this match: mask all of it
            return MASK
        whole = match.group(0)
        base = match.start()
        return whole[: start - base] + MASK + whole[end - base :]

    return replace


def credential(value: str, password: bool = False, loose: bool = False) -> bool:
    """True if ``value``, given for a key that names a secret, looks like a credential.

    ``password``: the key names a password, whose value is taken as it is (any length or shape) unless
    it says there is none (``null``, ``__REDACTED__``, ``***``, ``${DB_PASSWORD}``). ``loose``: the
    value is unquoted after ``key:`` or ``key = ``, as in prose, YAML or labels (``pam_unix(gdm-password:
    session)``), not assigned with ``key=value``. Other keys' values, and loose ones, must also look
    like one: 6 characters or more (8 for a loose one but a password), no spaces, not code, a name, a
    path, a URL, a date or an address, and a digit in them, a symbol, or a random mix of cases.
    """
    if not value or _PLACEHOLDER.fullmatch(value) or "://" in value or MASK in value:
        return False
    if password and not loose:
        return True
    if len(value) < (8 if loose and not password else 6) or " " in value or _NOT_A_CREDENTIAL.match(value):
        return False
    if any(char.isdigit() for char in value) or not _SYMBOLS.isdisjoint(value):
        return True
    upper = sum(char.isupper() for char in value)
    return len(value) >= 20 and len(value) // 4 <= upper <= len(value) * 3 // 4


def _pair_value(found: set[str]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        value = match.group(4)
        if value.startswith('\\"'):
            inner, quote = value[2:-2], '\\"'
        elif value[0] in "\"'":
            inner, quote = value[1:-1], value[0]
        else:
            rest = match.string[match.end() : match.end() + 2]
            if rest[:1] in ("{", "(", "[", "<") or rest == " {":  # code: Token{...}, Token { kind: ... }
                return match.group(0)
            inner, quote = value.rstrip(".:"), ""
        # A quoted value, key=value and a quoted key ("pin": 1234) assign; "key: value" may be prose
        loose = not quote and not match.group(2) and match.group(3) != "=" and match.group(3) != "=>"
        if not credential(inner, match.group(1)[0] in "pP", loose):
            return match.group(0)
        found.add("pair")
        kept = match.group(0)[: match.start(4) - match.start()]
        return kept + quote + MASK + (quote or value[len(inner) :])

    return replace


def _not_placeholder(match: re.Match[str]) -> bool:
    return _PLACEHOLDER.fullmatch(match.group(2)) is None  # scheme://user:***@host, ://:${PASSWORD}@


def _known_token(match: re.Match[str]) -> bool:
    body = match.group(2)
    return len(body) >= _TOKEN_BODY.get(match.group(1)[:2], 10) and any(char.isdigit() for char in body)


def _basic_credentials(match: re.Match[str]) -> bool:
    value = match.group(1)
    try:  # Basic credentials are base64 of "user:password"
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except ValueError:
        return False
    return b":" in decoded


def card_number(digits: str) -> bool:
    """True if the digits can be a payment card number: an issuer's prefix, its length, and the Luhn check.

    Prefixes and lengths of the ISO/IEC 7812 issuer ranges in use: Visa 4 (13, 16, 19 digits), Mastercard
    51-55 and 2221-2720 (16), Amex 34 and 37 (15), Diners 300-305, 36, 38, 39 and JCB 3528-3589 (14-19),
    Mir 2200-2204, Maestro 50 and 56-58, Discover, UnionPay and the rest of 6 (16-19).
    """
    size = len(digits)
    if not 13 <= size <= 19 or not digits.isascii() or not digits.isdigit():
        return False
    two, four = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        fits = size in (13, 16, 19)
    elif 51 <= two <= 55 or 2221 <= four <= 2720:
        fits = size == 16
    elif two in (34, 37):
        fits = size == 15
    elif two in (36, 38, 39) or 300 <= four // 10 <= 305 or 3528 <= four <= 3589:
        fits = size >= 14
    else:
        fits = digits[0] == "6" or 2200 <= four <= 2204 or two in (50, 56, 57, 58)
        fits = fits and size >= 16
    return fits and luhn(digits)


def _card(found: set[str]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        if text[4] == " ":  # a row of numbers is not a card: "1 2345 6789 0123 4567 8"
            start, end, line = match.start(), match.end(), match.string
            if start > 1 and line[start - 2].isdigit() and line[start - 1] == " ":
                return text
            if line[end : end + 1] == " " and line[end + 1 : end + 2].isdigit():
                return text
        digits = text.replace(" ", "").replace("-", "")
        if not card_number(digits):
            return text
        found.add("card")
        return MASK + digits[-4:]

    return replace


MAX_KEY_BLOCK_LINES = 100  # a 4096-bit RSA key in PEM is about 50 lines


class Masker:
    """Masks secrets in lines and parsed fields; keeps counts of what it masked."""

    def __init__(self, extra_pattern: str = "") -> None:
        try:
            self.extra = re.compile(extra_pattern) if extra_pattern else None
        except re.error as exc:
            raise ConfigError(f"mask_patterns: not a regular expression: {exc}") from exc
        self.extra_group = 1 if self.extra is not None and "secret" in self.extra.groupindex else 0
        if self.extra is not None and self.extra_group:
            self.extra_group = self.extra.groupindex["secret"]
        self.lines_masked: Counter[str] = Counter()
        self._secret_keys: dict[str, int] = {}
        # Sources (containers) in the middle of printing a private key line by line -> lines it may
        # still have. A container's lines arrive in order, on one partition.
        self._open_blocks: dict[str, int] = {}

    def follow_key_blocks(self, source: str, text: str) -> str:
        """``text`` masked whole when ``source`` is inside a private-key block it prints line by line
        (at most MAX_KEY_BLOCK_LINES lines after the BEGIN line), else as it is; a BEGIN line starts
        such a block for that source."""
        if source in self._open_blocks:
            text, still_open = self.inside_block(text)
            left = self._open_blocks.pop(source) - 1
            if still_open and left > 0:
                self._open_blocks[source] = left
        elif self.block_opens(text):
            if len(self._open_blocks) > 10_000:
                self._open_blocks.clear()
            self._open_blocks[source] = MAX_KEY_BLOCK_LINES
        return text

    def triggers(self, text: str) -> int:
        """Bit flags of the secret families that might be in ``text`` (0 for almost every line).

        Most lines hold no secret, so only the families flagged here run their regexes. The tests are
        ``in`` on ``str`` (about 70 ns on 100 characters, where ``in`` on ``bytes`` takes 300 ns and a
        regex with alternatives several microseconds), one-character tests first where the needle is
        rare, a regex only where it starts with a literal, and one ``bytes.translate`` that exposes runs
        of 13 digits (spaces and dashes dropped) for the card check.
        """
        flags = 0
        at = text.rfind("@")  # a password in a URL has "://" before its "@" ("@timestamp" has not)
        if at > 0 and ("://" in text[:at] or ":\\/\\/" in text[:at]):
            flags = _URL
        low = text.lower()
        if "passw" in low or "secret" in low or "token" in low or ("api" in low and "key" in low):
            flags |= _PAIR
        if "bearer" in low or "authoriz" in low:
            flags |= _AUTH
        if "IA" in text and ("AKIA" in text or "ASIA" in text):
            flags |= _AWS
        if (
            ("J" in text and "eyJ" in text)
            or ("x" in text and ("xox" in text or "xapp-" in text))
            or _TOKEN_HINT.search(text) is not None
        ):
            flags |= _TOKEN
        if "PRIVATE KEY" in text:
            flags |= _PEM
        if text.encode("utf-8", "surrogatepass").translate(_DIGIT_TABLE, b" -").find(_THIRTEEN) >= 0:
            flags |= _CARD
        if self.extra is not None and self.extra.search(text) is not None:
            flags |= _CUSTOM
        return flags

    def mask_text(self, text: str, found: set[str], flags: int | None = None) -> str:
        """``text`` with every secret masked (the same object when there was none); kinds go to ``found``."""
        if flags is None:
            flags = self.triggers(text)
        if not flags:
            return text
        if flags & _PEM:
            text = _PEM_RE.sub(_masked("private_key", found, 2), text)
        if flags & _URL:
            text = _URL_AUTH.sub(_masked("url_password", found, 2, _not_placeholder), text)
        if flags & _AUTH:
            text = _BEARER.sub(_masked("bearer", found, 1, lambda match: credential(match.group(1), loose=True)), text)
            text = _BASIC.sub(_masked("basic_auth", found, 1, _basic_credentials), text)
        if flags & _TOKEN:
            text = _TOKEN_RE.sub(_masked("api_token", found, 2, _known_token), text)
            text = _JWT_RE.sub(_masked("jwt", found, 0), text)
        if flags & _PAIR:
            text = _PAIR_RE.sub(_pair_value(found), text)
        if flags & _AWS:
            text = _AWS_RE.sub(_masked("aws_key", found), text)
        if flags & _CARD:
            text = _CARD_RE.sub(_card(found), text)
        if flags & _CUSTOM and self.extra is not None:
            text = self.extra.sub(_masked("custom", found, self.extra_group), text)
        return text

    def mask_fields(self, fields: dict[str, Any], found: set[str]) -> None:
        """Mask, in place, every string in ``fields`` and values of keys that name a secret."""
        stack: list[dict[str, Any] | list[Any]] = [fields]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                for key, value in list(node.items()):
                    kind = type(value)
                    named = self._secret_key(key) if kind is str or kind is int or kind is float else 0
                    if named and credential(str(value), named == 2):
                        node[key] = MASK
                        found.add("secret_field")
                    elif kind is str or kind is int:
                        node[key] = self._mask_value(value, found)
                    elif kind is dict or kind is list:
                        stack.append(value)
            else:
                for position, value in enumerate(node):
                    kind = type(value)
                    if kind is str or kind is int:
                        node[position] = self._mask_value(value, found)
                    elif kind is dict or kind is list:
                        stack.append(value)

    def _mask_value(self, value: str | int, found: set[str]) -> str | int:
        """A string masked, or an integer that is a card number as a masked string."""
        if isinstance(value, str):
            return self.mask_text(value, found)
        if 10**12 <= value < 10**19:  # a JSON number can be a card number too
            text = str(value)
            masked = self.mask_text(text, found, _CARD)
            if masked is not text:
                return masked
        return value

    def mask_line(self, text: str, parsed: Parsed) -> str | None:
        """Mask ``parsed.fields`` in place; returns the masked text to keep as ``event.original``, or None.

        Decoding can reveal what the raw text hides (``\\u0070assword``, ``:\\/\\/``), so the decoded
        values of a line with escapes are checked too, and the fields are walked only then or when the
        raw text held a secret. None means the original must be left out: decoding revealed a secret
        that escapes hid in a line that is not JSON (a JSON line is re-encoded from the masked object).
        """
        flags = self.triggers(text)
        escaped = parsed.format in _DECODING and "\\" in text and ("\\u" in text or "\\/" in text)
        if not flags and not escaped:
            return text
        found: set[str] = set()
        original: str | None = self.mask_text(text, found, flags)
        if not found and not escaped:
            return text  # the raw text holds every value the fields hold: nothing to mask there either
        fields = parsed.fields
        message_is_text = fields.get("message") == text
        field_found: set[str] = set()
        self.mask_fields(fields, field_found)
        if escaped and field_found:
            if parsed.document is not None:
                normalized = orjson.dumps(parsed.document).decode()
                original = self.mask_text(normalized, found)
            else:
                original = None
            if message_is_text:  # a JSON object without a message: the message is the line itself
                fields["message"] = original if original is not None else MASK
        for kind in found | field_found:
            self.lines_masked[kind] += 1
        return original

    @staticmethod
    def block_opens(text: str) -> bool:
        """True if ``text`` ends with the BEGIN line of a private key block (as ``cat key.pem`` prints it)."""
        if "PRIVATE KEY-----" not in text[-80:]:
            return False
        tail = text.rstrip()
        if not tail.endswith("PRIVATE KEY-----"):
            return False
        begin = tail.rfind("-----BEGIN ")
        return begin >= 0 and _PEM_BEGIN.fullmatch(tail, begin) is not None

    def inside_block(self, text: str) -> tuple[str, bool]:
        """A line inside an open private key block: ``(masked line, whether the block goes on after it)``.

        Everything up to the END line is key material and becomes ``***``; what follows END is
        masked as a line of its own.
        """
        self.lines_masked["private_key"] += 1
        end = _PEM_END.search(text)
        if end is None:
            return MASK, True
        rest = text[end.start() :]
        return MASK + self.mask_text(rest, set()), False

    def _secret_key(self, key: str) -> int:
        """0 if ``key`` names no secret, 2 if it names a password, 1 for another secret."""
        known = self._secret_keys.get(key)
        if known is None:
            match = _SECRET_KEY.search(key)
            known = 0 if match is None else 2 if match.group(1)[0] in "pP" else 1
            if len(self._secret_keys) > 10_000:
                self._secret_keys.clear()
            self._secret_keys[key] = known
        return known
