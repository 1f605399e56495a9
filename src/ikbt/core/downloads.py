"""Files the browser downloads."""

import csv

from django.http import HttpResponse
from django.utils import translation

# Excel reads a UTF-8 file as UTF-8 (å, ä, ö) only when it starts with this mark.
BYTE_ORDER_MARK = "\ufeff"


def csv_download(
    filename: str, header: list, rows: list[list], *, for_spreadsheet: bool = False
) -> HttpResponse:
    """A CSV file to save as ``filename``; empty cells for None.

    ``for_spreadsheet``: a table people open in Excel or LibreOffice (statistics), written
    the way a spreadsheet in the page's language reads it: with the byte order mark, and on a
    Swedish page with semicolons between cells and decimal commas. Files for programs (R,
    SPSS, the register) keep commas and decimal points.
    """
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    swedish = for_spreadsheet and translation.get_language() == "sv"
    if for_spreadsheet:
        response.write(BYTE_ORDER_MARK)
    writer = csv.writer(response, delimiter=";" if swedish else ",")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value, decimal_comma=swedish) for value in row])
    return response


# A text cell beginning with one of these is a formula to a spreadsheet (a unit named
# "=HYPERLINK(…)" would be a link that runs when the file is opened). Any of these files may be
# opened in one, a research export too, so none writes such a cell as it is.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value, *, decimal_comma: bool):
    if value is None:
        return ""
    if decimal_comma and isinstance(value, float):
        return str(value).replace(".", ",")
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value  # shown as written, never run
    return value
