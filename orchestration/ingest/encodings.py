"""Text decoding for unit extracts: BOMs, UTF-16, UTF-8, Windows-1258, and Vietnamese legacy font text.

Units still send files made with the pre-Unicode font encodings TCVN3 (ABC, the ".VnTime" fonts) and
VNI (the "VNI-Times" fonts). Such text is stored as single bytes that a Windows-1252 reader shows as
"NguyÔn V¨n An" (TCVN3) or "Nguyeãn Vaên An" (VNI). This module detects that text, per file or per
cell, and converts it to Unicode NFC. The tables below are written from the published character
tables: TCVN 5712:1993 (its VN3 subset, used by the ABC fonts) and the VNI Windows font layout.

The same tables also encode Unicode text into those forms, which the synthetic data generator uses.

Detection is by plausibility: every candidate decoding is scored by how many of its non-ASCII words
are well-formed Vietnamese syllables, and the best one wins (ties keep the text as it is).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

GRAVE, HOOK, TILDE, ACUTE, DOT = "\u0300", "\u0309", "\u0303", "\u0301", "\u0323"
TONE_MARKS = frozenset((GRAVE, HOOK, TILDE, ACUTE, DOT))
_TONE_ORDER = (GRAVE, HOOK, TILDE, ACUTE, DOT)  # the order TCVN3 lists the toned forms of each vowel
_CIRCUMFLEX, _BREVE, _HORN = "\u0302", "\u0306", "\u031b"

# How much text is sampled to decide an encoding (characters).
_SAMPLE_CHARS = 200_000

LEGACY_FORMS = ("tcvn3", "vni")
# Every character Windows-1252 can show (legacy font text is stored in those bytes).
_CP1252_REPERTOIRE = frozenset(bytes(range(256)).decode("cp1252", errors="ignore"))


class DecodeError(Exception):
    """Bytes that cannot be decoded; ``truncated`` says the file ends in the middle of a character."""

    def __init__(self, message: str, truncated: bool = False):
        super().__init__(message)
        self.message = message
        self.truncated = truncated


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str  # utf-8, utf-8-sig, utf-16-le, utf-16-be, cp1258 or cp1252 (legacy font text)


def toned(vowel: str, tone: str) -> str:
    """A vowel with one tone mark, in NFC: toned('ê', TILDE) == 'ễ'."""
    return unicodedata.normalize("NFC", vowel + tone)


# ---------------------------------------------------------------- TCVN3 (ABC)

# Letters with their own code: the modified vowels and Đ, upper and lower case.
_TCVN3_PLAIN = dict(zip("ĂÂÊÔƠƯĐăâêôơưđ", range(0xA1, 0xAF), strict=True))
# Lower-case toned vowels, in the order grave, hook, tilde, acute, dot below.
_TCVN3_TONED = {
    "a": (0xB5, 0xB6, 0xB7, 0xB8, 0xB9), "ă": (0xBB, 0xBC, 0xBD, 0xBE, 0xC6),
    "â": (0xC7, 0xC8, 0xC9, 0xCA, 0xCB), "e": (0xCC, 0xCE, 0xCF, 0xD0, 0xD1),
    "ê": (0xD2, 0xD3, 0xD4, 0xD5, 0xD6), "i": (0xD7, 0xD8, 0xDC, 0xDD, 0xDE),
    "o": (0xDF, 0xE1, 0xE2, 0xE3, 0xE4), "ô": (0xE5, 0xE6, 0xE7, 0xE8, 0xE9),
    "ơ": (0xEA, 0xEB, 0xEC, 0xED, 0xEE), "u": (0xEF, 0xF1, 0xF2, 0xF3, 0xF4),
    "ư": (0xF5, 0xF6, 0xF7, 0xF8, 0xF9), "y": (0xFA, 0xFB, 0xFC, 0xFD, 0xFE),
}
_TCVN3_LOWER_PLAIN = frozenset(range(0xA8, 0xAF))
# The full TCVN 5712 table (VN1) puts some upper-case toned vowels in the gaps of VN3; read them too.
_TCVN3_UPPER_GAPS = {
    0xAF: "Ằ", 0xBA: "Ẳ", 0xBF: "Ẵ", 0xC0: "Ắ", 0xC1: "Ầ", 0xC2: "Ẩ", 0xC3: "Ẫ", 0xC4: "Ấ",
    0xC5: "Ề", 0xCD: "Ể", 0xD9: "Ễ", 0xDA: "Ế", 0xDB: "Ồ", 0xE0: "Ổ", 0xF0: "Ỗ", 0xFF: "Ố",
}
_TCVN3_UPPER_CODES = frozenset(range(0xA1, 0xA8)) | frozenset(_TCVN3_UPPER_GAPS)


@cache
def _tcvn3_decode_table() -> dict[int, str]:
    """Code point of the legacy character (as Windows-1252 shows it) -> Unicode letter."""
    table = {code: letter for letter, code in _TCVN3_PLAIN.items()}
    for vowel, codes in _TCVN3_TONED.items():
        table.update({code: toned(vowel, tone) for code, tone in zip(codes, _TONE_ORDER, strict=True)})
    table.update(_TCVN3_UPPER_GAPS)
    return table


@cache
def _tcvn3_encode_table() -> dict[int, str]:
    """Unicode letter -> legacy character. Upper-case toned vowels have no code of their own in the
    ABC fonts (typists switched to the upper-case font), so they take the lower-case code."""
    table = {ord(letter): chr(code) for letter, code in _TCVN3_PLAIN.items()}
    for vowel, codes in _TCVN3_TONED.items():
        for code, tone in zip(codes, _TONE_ORDER, strict=True):
            table[ord(toned(vowel, tone))] = chr(code)
            table[ord(toned(vowel.upper(), tone))] = chr(code)
    table[ord("Ð")] = chr(_TCVN3_PLAIN["Đ"])  # Icelandic Eth typed for Đ looks the same in print
    return table


# ---------------------------------------------------------------- VNI

_VNI_TONE = {ACUTE: "ù", GRAVE: "ø", HOOK: "û", TILDE: "õ", DOT: "ï"}
_VNI_CIRCUMFLEX = {"": "â", ACUTE: "á", GRAVE: "à", HOOK: "å", TILDE: "ã", DOT: "ä"}
_VNI_BREVE = {"": "ê", ACUTE: "é", GRAVE: "è", HOOK: "ú", TILDE: "ü", DOT: "ë"}
_VNI_I = {"": "i", ACUTE: "í", GRAVE: "ì", HOOK: "æ", TILDE: "ó", DOT: "ò"}
_VNI_HORN = {"o": "ô", "u": "ö"}  # ơ and ư are single characters in VNI


def _vni_lower(base: str, modifier: str, tone: str) -> str:
    """VNI spelling of one lower-case letter given its base, modifier and tone."""
    if base == "i":
        return _VNI_I[tone]
    if base == "y" and tone == DOT:
        return "î"
    if modifier == _CIRCUMFLEX:
        return base + _VNI_CIRCUMFLEX[tone]
    if modifier == _BREVE:
        return base + _VNI_BREVE[tone]
    head = _VNI_HORN[base] if modifier == _HORN else base
    return head + _VNI_TONE.get(tone, "")


@cache
def _vni_letters() -> dict[str, str]:
    """Every Vietnamese letter outside ASCII -> its VNI spelling (both cases)."""
    letters: dict[str, str] = {"đ": "ñ", "Đ": "Ñ"}
    forms = [("a", ""), ("a", _CIRCUMFLEX), ("a", _BREVE), ("e", ""), ("e", _CIRCUMFLEX), ("i", ""),
             ("o", ""), ("o", _CIRCUMFLEX), ("o", _HORN), ("u", ""), ("u", _HORN), ("y", "")]
    for base, modifier in forms:
        for tone in ("", *_TONE_ORDER):
            letter = unicodedata.normalize("NFC", base + modifier + tone)
            if letter.isascii():
                continue
            spelling = _vni_lower(base, modifier, tone)
            letters[letter] = spelling
            letters[letter.upper()] = spelling.upper()
    return letters


@cache
def _vni_decoder() -> tuple[re.Pattern[str], dict[str, str]]:
    """A pattern matching VNI spellings (longest first) and the letter each one stands for."""
    spellings: dict[str, str] = {}
    for letter, spelling in _vni_letters().items():
        spellings[spelling] = letter
        if len(spelling) == 2:
            # Fonts mix the case of the mark; the base letter decides the case of the result.
            base, mark = spelling
            other = base + (mark.lower() if mark.isupper() else mark.upper())
            spellings.setdefault(other, letter)
    ordered = sorted((s for s in spellings if not s.isascii()), key=lambda s: (-len(s), s))
    return re.compile("|".join(re.escape(s) for s in ordered)), spellings


@cache
def _vni_encode_table() -> dict[int, str]:
    table = {ord(letter): spelling for letter, spelling in _vni_letters().items()}
    table[ord("Ð")] = "Ñ"
    return table


# ---------------------------------------------------------------- Unicode -> legacy (for the generator)


def _ascii_fallback(text: str, table: dict[int, str]) -> str:
    """Characters a legacy font cannot show lose their marks (or become '?')."""
    def fallback(ch: str) -> str:
        # Windows-1252 punctuation above U+00FF (dashes, curly quotes) is kept: no legacy code uses it.
        if ch.isascii() or ord(ch) in table or (ord(ch) > 0xFF and ch in _CP1252_REPERTOIRE):
            return ch
        bare = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        return bare if bare.isascii() and bare else "?"

    return "".join(fallback(ch) for ch in text)


def to_tcvn3(text: str) -> str:
    """Unicode text as TCVN3 (ABC) font text, i.e. the characters Windows-1252 shows for its bytes."""
    table = _tcvn3_encode_table()
    return _ascii_fallback(unicodedata.normalize("NFC", text), table).translate(table)


def to_vni(text: str) -> str:
    """Unicode text as VNI font text."""
    table = _vni_encode_table()
    return _ascii_fallback(unicodedata.normalize("NFC", text), table).translate(table)


@cache
def _cp1258_char(ch: str) -> str:
    """A character spelled with what Windows-1258 has: precomposed if it exists, else base + tone mark."""
    try:
        ch.encode("cp1258")
        return ch
    except UnicodeEncodeError:
        pass
    parts = unicodedata.normalize("NFD", "Đ" if ch == "Ð" else "đ" if ch == "ð" else ch)
    base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
    spelled = base + "".join(c for c in parts if c in TONE_MARKS)
    try:
        spelled.encode("cp1258")
        return spelled
    except UnicodeEncodeError:
        return "?"


def encode_cp1258(text: str) -> bytes:
    """Windows-1258 bytes the way Windows writes them: tone marks as combining characters where the
    code page has no precomposed letter ("ễ" -> "ê" + combining tilde)."""
    text = unicodedata.normalize("NFC", text)
    table = {ord(ch): _cp1258_char(ch) for ch in set(text) if not ch.isascii()}
    return text.translate(table).encode("cp1258")


# ---------------------------------------------------------------- legacy -> Unicode


def _title_like(words: list[str]) -> bool:
    """Every word starts with a capital or a legacy letter, and at least one with a capital."""
    starts = [w[0] for w in words if w[0].isalpha() or ord(w[0]) in _tcvn3_decode_table()]
    capital = [s for s in starts if s.isupper() and ord(s) not in _tcvn3_decode_table()]
    lower_ascii = [s for s in starts if s.isascii() and s.islower()]
    return len(starts) >= 2 and bool(capital) and not lower_ascii


def _all_capitals(text: str) -> bool:
    """Whether TCVN3 text was typed in capitals: capitals inside words and no lower-case letter.
    (Toned vowels are ambiguous: the ABC fonts use the same code for both cases.)"""
    capital = lower = 0
    for position, ch in enumerate(text):
        code = ord(ch)
        if (ch.isascii() and ch.islower()) or code in _TCVN3_LOWER_PLAIN:
            lower += 1
        elif position and text[position - 1] != " " and (
                (ch.isascii() and ch.isupper()) or code in _TCVN3_UPPER_CODES):
            capital += 1
    return capital > 0 and lower == 0


def from_tcvn3(text: str) -> str:
    """TCVN3 font text to Unicode NFC. The ABC fonts have no upper-case toned vowels, so the case is
    restored from the cell: a cell typed in capitals gets capital vowels, and in a cell written like a
    name ("Lª ¸nh") a word that starts with a toned vowel gets a capital."""
    table = _tcvn3_decode_table()
    converted = text.translate(table)
    if _all_capitals(text):
        return unicodedata.normalize("NFC", converted.upper())
    words = text.split(" ")
    if _title_like([w for w in words if w]):
        parts = []
        for original, word in zip(words, converted.split(" "), strict=True):
            starts_legacy = bool(original) and ord(original[0]) in table
            parts.append(word[:1].upper() + word[1:] if starts_legacy else word)
        converted = " ".join(parts)
    return unicodedata.normalize("NFC", converted)


def from_vni(text: str) -> str:
    """VNI font text to Unicode NFC."""
    pattern, spellings = _vni_decoder()
    return unicodedata.normalize("NFC", pattern.sub(lambda m: spellings[m.group(0)], text))


LEGACY_DECODERS: dict[str, Callable[[str], str]] = {"tcvn3": from_tcvn3, "vni": from_vni}


# ---------------------------------------------------------------- plausibility of Vietnamese words

_ONSETS = "ngh|ng|gh|gi|kh|nh|ph|qu|th|tr|ch|[bcdđghklmnprstvx]"
# Vowel nuclei (with their glides), longest first so the pattern tries them first.
_NUCLEI = (
    "iêu|yêu|oai|oao|oay|oeo|uây|uôi|ươi|ươu|uya|uyê|uyu|"
    "ai|ao|au|ay|âu|ây|eo|êu|ia|iê|iu|oa|oă|oe|oi|oo|ôi|ơi|ua|uâ|uê|ui|uô|uơ|uy|ưa|ưi|ươ|ưu|yê|"
    "a|ă|â|e|ê|i|o|ô|ơ|u|ư|y"
)
_CODAS = "ch|ng|nh|[cmnpt]"
_SYLLABLE = re.compile(f"(?:{_ONSETS})?(?:{_NUCLEI})(?:{_CODAS})?")
# Words are split on white space, ASCII punctuation and digits; legacy characters such as '¨' or '«'
# are letters of a word in those encodings, so they must not split it.
_WORD = re.compile(r"[^\s\d!-/:-@\[-`{-~]+")
# Characters of U+00A0-U+00FF that Unicode Vietnamese text does not use, but legacy font text does.
_VIETNAMESE_LATIN1 = "ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúý"
SUSPICIOUS_CHARACTERS = "[" + "".join(chr(c) for c in range(0xA1, 0x100) if chr(c) not in _VIETNAMESE_LATIN1) + "]"
_SUSPICIOUS = re.compile(SUSPICIOUS_CHARACTERS)


@lru_cache(maxsize=200_000)
def plausible_word(word: str) -> bool:
    """Whether a word is a well-formed Vietnamese syllable (at most one tone mark)."""
    lowered = unicodedata.normalize("NFD", word.lower().replace("ð", "đ"))
    if sum(1 for c in lowered if c in TONE_MARKS) > 1:
        return False
    bare = unicodedata.normalize("NFC", "".join(c for c in lowered if c not in TONE_MARKS))
    return _SYLLABLE.fullmatch(bare) is not None


def _score(text: str, convert: Callable[[str], str] | None = None) -> int:
    """Plausible minus implausible non-ASCII words, after an optional conversion."""
    score = 0
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        score += 1 if plausible_word(convert(word) if convert else word) else -1
    return score


def could_be_legacy(text: str) -> bool:
    """Legacy font text only holds characters Windows-1252 can show, and some outside ASCII."""
    return not text.isascii() and all(ch in _CP1252_REPERTOIRE for ch in set(text))


def detect_legacy(text: str) -> str | None:
    """'tcvn3' or 'vni' when the text reads better in that font encoding than as it is, else None."""
    sample = text[:_SAMPLE_CHARS]
    if not could_be_legacy(sample):
        return None
    scores = {form: _score(sample, LEGACY_DECODERS[form]) for form in LEGACY_FORMS}
    if scores["tcvn3"] == scores["vni"]:
        # Both read equally well (short texts): VNI puts its marks after a vowel ("Leâ"), TCVN3
        # replaces the vowel ("Lª"), so the letter before the non-ASCII characters decides.
        scores["tcvn3" if _marks_follow_vowels(sample) else "vni"] -= 1
    form = max(LEGACY_FORMS, key=scores.__getitem__)
    return form if scores[form] > max(0, _score(sample)) else None


def _marks_follow_vowels(text: str) -> bool:
    """Whether most non-ASCII characters come right after an ASCII vowel (as VNI marks do)."""
    after_vowel = sum(1 for before, ch in zip(" " + text, text, strict=False) if not ch.isascii()
                      and before in "aeiouyAEIOUY")
    return after_vowel > sum(1 for ch in text if not ch.isascii()) / 2


def fix_legacy_cell(text: str) -> str:
    """One cell of an otherwise Unicode file: converted if it holds legacy font text."""
    if not could_be_legacy(text):
        return text
    form = detect_legacy(text)
    return LEGACY_DECODERS[form](text) if form else text


Rows = list[list[str | None]]


def _convert_cells(rows: Rows, convert: Callable[[str], str], column: int | None = None) -> None:
    """Convert every text cell in place (or only the cells of one column)."""
    for row in rows:
        for position, cell in enumerate(row):
            if cell and (column is None or position == column):
                row[position] = convert(cell)


def file_legacy_form(text: str) -> str | None:
    """'tcvn3' or 'vni' when a file's text as a whole is in that font encoding (every cell is converted)."""
    return detect_legacy(text[:_SAMPLE_CHARS])


def column_converter(cells: str) -> Callable[[str], str] | None:
    """How one column of a file that is not legacy as a whole is converted, given its non-empty cells joined by
    line ends: the whole column from one font encoding, or cell by cell; None when nothing looks legacy."""
    if not _SUSPICIOUS.search(cells):
        return None
    form = detect_legacy(cells[:_SAMPLE_CHARS])
    return LEGACY_DECODERS[form] if form else fix_legacy_cell


def convert_legacy_rows(rows: Rows, text: str | None = None) -> Rows:
    """Rows with TCVN3/VNI font text converted to Unicode NFC. ``text`` is the file's whole text when
    the caller has it. The decision is made for the whole file first (a legacy file), then column by
    column (names pasted from a legacy list into a Unicode file), then cell by cell."""
    text = text if text is not None else "\n".join(c for row in rows for c in row if c)
    form = file_legacy_form(text)
    if form is None and not _SUSPICIOUS.search(text):
        return rows  # the usual case: nothing that looks like legacy text anywhere
    rows = [list(row) for row in rows]
    if form:
        _convert_cells(rows, LEGACY_DECODERS[form])
        return rows
    for column in range(max((len(row) for row in rows), default=0)):
        convert = column_converter("\n".join(row[column] for row in rows if column < len(row) and row[column]))
        if convert:
            _convert_cells(rows, convert, column)
    return rows


# ---------------------------------------------------------------- bytes -> text

_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _utf16(data: bytes) -> DecodedText | None:
    """UTF-16 with a BOM, or without one when every other byte is zero."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = "utf-16-le" if data.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"
        body = data[2:]
    else:
        sample = data[:4000]
        odd, even = sample[1::2], sample[0::2]
        if len(sample) < 4 or not (odd.count(0) > 0.4 * len(odd) or even.count(0) > 0.4 * len(even)):
            return None
        codec = "utf-16-le" if odd.count(0) > even.count(0) else "utf-16-be"
        body = data
    if len(body) % 2:
        raise DecodeError("the file ends in the middle of a UTF-16 character", truncated=True)
    try:
        return DecodedText(body.decode(codec), codec)
    except UnicodeDecodeError as error:
        raise DecodeError(f"not valid {codec.upper()} text at byte {error.start}") from error


def _utf8(data: bytes) -> DecodedText | None:
    """UTF-8 (with or without BOM); None when the bytes are not UTF-8 at all."""
    has_bom = data.startswith(codecs.BOM_UTF8)
    body = data[3:] if has_bom else data
    try:
        return DecodedText(body.decode("utf-8"), "utf-8-sig" if has_bom else "utf-8")
    except UnicodeDecodeError as error:
        if error.reason == "unexpected end of data" and error.end == len(body):
            raise DecodeError("the file ends in the middle of a UTF-8 character", truncated=True) from error
        high = sum(1 for b in body if b >= 0x80)
        valid = sum(len(m) for m in _UTF8_SEQUENCE.findall(body))
        if has_bom or valid > high / 2:
            raise DecodeError(f"not valid UTF-8 text at byte {error.start + (3 if has_bom else 0)}") from error
        return None


def _single_byte(data: bytes) -> DecodedText:
    """Windows-1258, or legacy font text in Windows-1252 bytes: whichever reads as Vietnamese."""
    candidates: list[tuple[int, DecodedText]] = []
    try:
        text = unicodedata.normalize("NFC", data.decode("cp1258"))
        candidates.append((_score(text[:_SAMPLE_CHARS]), DecodedText(text, "cp1258")))
    except UnicodeDecodeError:
        pass
    legacy = data.decode("cp1252", errors="strict") if _decodes(data, "cp1252") else data.decode("latin-1")
    form = detect_legacy(legacy)
    if form:
        candidates.append((_score(legacy[:_SAMPLE_CHARS], LEGACY_DECODERS[form]), DecodedText(legacy, "cp1252")))
    if not candidates:
        raise DecodeError("not UTF-8, UTF-16, Windows-1258, TCVN3 or VNI text")
    score, best = max(candidates, key=lambda c: c[0])  # max keeps the first (cp1258) on a tie
    if score < 0:
        raise DecodeError("not UTF-8, UTF-16, Windows-1258, TCVN3 or VNI text (the words do not read as "
                          "Vietnamese in any of them)")
    return best


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
        return True
    except UnicodeDecodeError:
        return False


def decode_bytes(data: bytes) -> DecodedText:
    """Decode a text file: BOM first, then UTF-16, UTF-8, then Windows-1258 or legacy font bytes.

    Windows-1258 text is returned in NFC (the code page spells many letters with combining tone
    marks). Legacy font text is returned as Windows-1252 characters; ``convert_legacy_rows`` converts it.
    """
    return _utf16(data) or _utf8(data) or _single_byte(data)
