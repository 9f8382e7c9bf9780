FACTORS = {"mm": 0.001, "cm": 0.01, "m": 1.0}


def convert(value, src, dst):
    if src == dst:
        return value
    return value * FACTORS[src] / FACTORS[dst]


def describe(value, unit):
    if value < 0:
        return "negative"
    if value == 0:
        return "zero"
    return f"{value} {unit}"
