from shapes.units import describe


def test_describe():
    assert describe(0, "m") == "zero"
    assert describe(2, "m") == "2 m"
