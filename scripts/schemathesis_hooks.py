"""schemathesis hooks of scripts/schemathesis.sh (issue 17).

JSON Schema cannot tell `506.0` from `506` (both are the integer 506), but
sekimori refuses a money amount written with a fraction or an exponent
(`invalid_type`: no float ever reaches a decision, docs/errors.md). So the
generator writes integral numbers as integers; nothing else is changed, and
a non-integral number (a real type violation) is left as generated.
"""

import schemathesis


def _integral(value):
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


@schemathesis.hook
def map_case(context, case):
    if case.body is not None and not isinstance(case.body, (bytes, str)):
        case.body = _integral(case.body)
    return case


# POST /v1/events/stream (issue 16 part 4): the body is newline-delimited
# JSON, one event a line; the generated event is sent as a one-line stream,
# and its one answer line is read back for the response checks (the answer
# schema, StreamItem, is one line's).
import json


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx, value):
    if isinstance(value, (bytes, str)):
        text = value.decode() if isinstance(value, bytes) else value
    else:
        text = json.dumps(_integral(value), ensure_ascii=False)
    return (text.replace("\n", " ") + "\n").encode()


@schemathesis.deserializer("application/x-ndjson")
def _ndjson_answer(ctx, response):
    lines = [l for l in response.content.splitlines() if l.strip()]
    if len(lines) != 1:
        raise ValueError(f"a one-line stream has one answer line, not {len(lines)}")
    return json.loads(lines[0])
