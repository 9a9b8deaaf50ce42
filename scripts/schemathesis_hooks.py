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
