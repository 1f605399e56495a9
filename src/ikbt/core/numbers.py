"""Numbers that arrive as text from a browser: a hidden id, a count, a page number."""


def whole_number(value: str | None, *, signed: bool = False) -> int | None:
    """``value`` as a whole number if it is written in the digits 0-9 (with a leading minus
    when ``signed``), else None. What arrives in a hidden field or an address is not to be
    trusted, and ``int`` fails on "²" although ``str.isdigit`` accepts it."""
    if not value or not value.isascii():
        return None
    digits = value[1:] if signed and value.startswith("-") else value
    # No id or count has more than 18 digits (a 64-bit integer), and int() refuses very long
    # strings of digits.
    return int(value) if digits.isdigit() and len(digits) <= 18 else None
