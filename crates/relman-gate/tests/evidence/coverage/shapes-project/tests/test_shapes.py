from shapes.area import area, perimeter
from shapes.units import convert


def test_area():
    assert area("square", 2) == 4
    assert area("rect", 2, 3) == 6


def test_perimeter():
    assert perimeter("square", 1) == 4


def test_convert():
    assert convert(1, "m", "cm") == 100
