"""Quantity price tiers: the unit price a quantity of one product gets in one order (฿350 a
bag, ฿320 a bag from 50 bags). No Flask, no database.

``tiers`` is any iterable of objects with ``min_quantity`` and ``price_satang`` (PriceTier,
or a product's ProductPriceTier rows), in any order.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class PriceTier:
    """From ``min_quantity`` units of the product in one order, each costs ``price_satang``."""

    min_quantity: int
    price_satang: int


@dataclass(frozen=True)
class NextTier:
    """The next cheaper tier: ``units_short`` more units get every unit at ``price_satang``."""

    min_quantity: int
    price_satang: int
    units_short: int


def unit_price(base_price_satang, tiers, quantity):
    """The unit price for ``quantity`` units: the tier with the largest minimum reached,
    else the base price."""
    reached = [tier for tier in tiers if tier.min_quantity <= quantity]
    if not reached:
        return base_price_satang
    return max(reached, key=lambda tier: tier.min_quantity).price_satang


def next_tier(base_price_satang, tiers, quantity):
    """The tier ``quantity`` units would reach next (the smallest minimum above it that
    gives a lower unit price than now), or None when there is none."""
    now = unit_price(base_price_satang, tiers, quantity)
    ahead = sorted(
        (tier for tier in tiers if tier.min_quantity > quantity and tier.price_satang < now),
        key=lambda tier: tier.min_quantity,
    )
    if not ahead:
        return None
    tier = ahead[0]
    return NextTier(tier.min_quantity, tier.price_satang, tier.min_quantity - quantity)


def ordered(tiers):
    """``tiers`` as PriceTiers, by minimum quantity."""
    return tuple(
        PriceTier(tier.min_quantity, tier.price_satang)
        for tier in sorted(tiers, key=lambda tier: tier.min_quantity)
    )
