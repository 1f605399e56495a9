"""Files the browser downloads."""

import csv

from django.http import HttpResponse


def csv_download(filename: str, header: list, rows: list[list]) -> HttpResponse:
    """A CSV file to save as ``filename``; empty cells for None."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([["" if value is None else value for value in row] for row in rows])
    return response
