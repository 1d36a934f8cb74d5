"""--cfg-options value parsing, against MMEngine's DictAction."""

from __future__ import annotations

import argparse

import pytest

from mmhooks.config import DictAction, parse_cfg_options

mmengine_config = pytest.importorskip("mmengine.config")

VALUES = {
    "int": "1",
    "negative_float": "-0.5",
    "exponent": "1e-3",
    "true_lower": "true",
    "false_title": "False",
    "none": "None",
    "none_lower_is_str": "none",
    "string": "abc",
    "empty": "",
    "list": "[1,2]",
    "bare_commas": "1,2,3",
    "tuple_quoted": "'(1,2)'",
    "list_of_tuples": "[(1,2),(3,4)]",
    "nested_mixed": "[(1, 2, 3), [a, b], c]",
    "quoted_elements": "['a','b']",
    "trailing_comma": "[1,]",
    "empty_list": "[]",
    "empty_tuple": "()",
    "spaces_removed": "[ 1 , x y ]",
    "path": "data/coco",
}


@pytest.mark.parametrize("text", VALUES.values(), ids=VALUES.keys())
def test_value_parsing_matches_mmengine(text):
    expected = mmengine_config.DictAction._parse_iterable(text)
    assert parse_cfg_options([f"k={text}"]) == {"k": expected}


def test_brief_example():
    items = ["a.b=1", "c=[1,2]", "d=None", "e=True", "f='(1,2)'", "g=[(1,2),(3,4)]"]
    assert parse_cfg_options(items) == {"a.b": 1, "c": [1, 2], "d": None, "e": True, "f": (1, 2),
                                        "g": [(1, 2), (3, 4)]}


def test_value_keeps_later_equals_signs_and_later_item_wins():
    assert parse_cfg_options(["a=x=y", "b=1", "b=2"]) == {"a": "x=y", "b": 2}


def test_two_tuples_without_outer_brackets_are_a_list():
    # MMEngine recurses forever on this input; the comma at depth zero makes it a list.
    assert parse_cfg_options(["k=(1,2),(3,4)"]) == {"k": [(1, 2), (3, 4)]}


def test_dict_action_accumulates_like_mmengine():
    def parse(action: type[argparse.Action]) -> dict:
        parser = argparse.ArgumentParser()
        parser.add_argument("--cfg-options", nargs="+", action=action)
        return parser.parse_args(["--cfg-options", "a.b=1", "c=x,y", "--cfg-options", "a.b=2"]).cfg_options

    assert parse(DictAction) == parse(mmengine_config.DictAction) == {"a.b": 2, "c": ["x", "y"]}
