"""Splitting one amount among pledges so that the parts add up to it exactly.

Pure integer arithmetic (no database, no floats). An amount is split in proportion to
weights by the largest remainder method: each part is first rounded down, then the satang
left over go one each to the parts with the largest remainders (ties to the earlier
pledge). The parts always sum to the amount, no part is negative, and a part differs from
its exact proportional share by less than one satang.
"""


def split(amount_satang, weights):
    """``amount_satang`` split in proportion to ``weights`` (a list of non-negative ints);
    a list of ints in the same order that sums to ``amount_satang``.

    With every weight zero, the amount is split equally (nothing can be proportional to
    nothing, and the amount must still be shared).
    """
    if amount_satang < 0:
        raise ValueError("a negative amount is not split")
    if any(w < 0 for w in weights):
        raise ValueError("weights are never negative")
    if not weights:
        if amount_satang:
            raise ValueError("an amount needs someone to share it")
        return []
    total = sum(weights)
    if total == 0:
        weights, total = [1] * len(weights), len(weights)
    parts, remainders = [], []
    for index, weight in enumerate(weights):
        part, remainder = divmod(amount_satang * weight, total)
        parts.append(part)
        remainders.append((-remainder, index))
    left = amount_satang - sum(parts)
    for _remainder, index in sorted(remainders)[:left]:
        parts[index] += 1
    return parts
