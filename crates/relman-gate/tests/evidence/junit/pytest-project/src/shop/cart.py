def total(prices):
    if not prices:
        raise ValueError("empty cart")
    return sum(prices) + 1
