import pytest


@pytest.fixture
def broken():
    raise RuntimeError("database unavailable")


def test_pass():
    assert 1 + 1 == 2


def test_fail():
    assert 1 + 1 == 3, "arithmetic & <logic> is off"


def test_error(broken):
    assert broken


@pytest.mark.skip(reason="needs a GPU")
def test_skip():
    pass


class TestApi:
    def test_method_pass(self):
        assert True

    def test_method_fail(self):
        assert "a" == "b"
