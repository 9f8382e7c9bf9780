import pytest

from shop.cart import total


def test_total():
    assert total([20, 22]) == 42


def test_empty():
    total([])


def test_ok():
    assert total([1]) == 2
