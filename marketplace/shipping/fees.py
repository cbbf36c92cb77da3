"""Shipping fee arithmetic: weight tiers and the remote-area surcharge. No Flask, no database."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    max_weight_grams: int
    fee_satang: int


def fee_for_weight(weight_grams, tiers):
    """The fee for a parcel of ``weight_grams`` under ``tiers`` (any order).

    A parcel heavier than the largest tier travels as several parcels of the largest tier
    plus one for the rest, each priced by its own tier.
    """
    if weight_grams < 0:
        raise ValueError("weight cannot be negative")
    if not tiers:
        raise ValueError("a rate table needs at least one tier")
    ordered = sorted(tiers, key=lambda tier: tier.max_weight_grams)
    largest = ordered[-1]
    full_parcels, rest = divmod(weight_grams, largest.max_weight_grams)
    fee = full_parcels * largest.fee_satang
    if rest or not full_parcels:
        fee += next(tier.fee_satang for tier in ordered if tier.max_weight_grams >= rest)
    return fee


def remote_surcharge(postal_code, remote_postal_codes, surcharge_satang):
    return surcharge_satang if postal_code in remote_postal_codes else 0
