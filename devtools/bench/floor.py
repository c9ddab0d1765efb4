"""The Python floor for `npm run bench`: what any Python connector pays at least to turn a Hotjar CSV
export into Airbyte RECORD lines, with the standard library only and none of a CDK's overhead.

Reads the CSV from local disk (no HTTP, no unzip) with `csv`, builds each record as the connector
does (every column under its header, `Number` an integer, `Date Submitted` as YYYY-MM-DDTHH:MM:SS,
empty cells null, plus site_id and survey_id), wraps it in the RECORD envelope
({"type": "RECORD", "record": {"stream", "data", "emitted_at"}}) and writes one `json.dumps` line
per record to stdout, in batches.

Usage: python3 floor.py <csv> <site_id> <survey_id> [stream]. Prints {"rows": …, "ms": …} on stderr.
"""

import csv
import json
import sys
import time


def main() -> None:
    path, site_id, survey_id = sys.argv[1], sys.argv[2], sys.argv[3]
    stream = sys.argv[4] if len(sys.argv) > 4 else "survey_responses"
    started = time.perf_counter()
    out = sys.stdout.buffer
    dumps = json.dumps
    rows = 0
    batch = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader)
        number_at = header.index("Number")
        date_at = header.index("Date Submitted")
        for row in reader:
            data = {key: value or None for key, value in zip(header, row)}
            data["Number"] = int(row[number_at])
            date = row[date_at]
            data["Date Submitted"] = date[:10] + "T" + date[11:]
            data["site_id"] = site_id
            data["survey_id"] = survey_id
            record = {"stream": stream, "data": data, "emitted_at": int(time.time() * 1000)}
            batch.append(dumps({"type": "RECORD", "record": record}))
            rows += 1
            if len(batch) == 1000:
                batch.append("")
                out.write("\n".join(batch).encode("utf-8"))
                batch = []
    if batch:
        batch.append("")
        out.write("\n".join(batch).encode("utf-8"))
    out.flush()
    sys.stderr.write(json.dumps({"rows": rows, "ms": (time.perf_counter() - started) * 1000}) + "\n")


if __name__ == "__main__":
    main()
