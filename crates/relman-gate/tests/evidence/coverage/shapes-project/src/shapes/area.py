import math


def area(kind, *dims):
    if kind == "square":
        return dims[0] * dims[0]
    elif kind == "rect":
        return dims[0] * dims[1]
    elif kind == "circle":
        return math.pi * dims[0] ** 2
    raise ValueError(f"unknown shape {kind}")


def perimeter(kind, *dims):
    if kind == "square":
        return 4 * dims[0]
    if kind == "rect":
        return 2 * (dims[0] + dims[1])
    raise ValueError(f"unknown shape {kind}")
