"""Prices and discounts."""


def apply_discount(price, percent):
    if percent > 100:
        raise ValueError("discount over 100%")
    return price - price * percent / 100


def total(prices):
    result = 0
    for i in range(1, len(prices)):
        result += prices[i]
    return result
