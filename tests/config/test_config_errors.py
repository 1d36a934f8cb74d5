"""Each bad input gives one ConfigError whose message starts with the file or key path and says how to fix it."""

from __future__ import annotations

import argparse

import pytest

from mmhooks.config import Config, ConfigFileError, ConfigMergeError, DictAction, parse_cfg_options
from mmhooks.errors import ConfigError


def _message(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    return str(excinfo.value)


def test_python_syntax_error_names_file_and_line(write):
    path = write("cfg.py", "a = 1\nb = (1,\nc = 2\n")
    with pytest.raises(ConfigFileError) as excinfo:
        Config.fromfile(path)
    assert _message(excinfo) == (f"{path}:2: got 'b = (1,'; expected valid Python ('(' was never closed). "
                                 "Fix: correct the syntax at line 2, column 5.")


def test_python_runtime_error_names_file_and_line(write):
    path = write("cfg.py", "a = 1\nb = undefined_name + 1\n")
    with pytest.raises(ConfigFileError) as excinfo:
        Config.fromfile(path)
    assert _message(excinfo) == (f"{path}:2: got \"NameError: name 'undefined_name' is not defined\"; "
                                 "expected a config that runs without error. Fix: fix the statement at line 2.")


def test_missing_base_names_including_file_and_resolved_path(write, tmp_path):
    path = write("configs/cfg.py", "_base_ = ['../nope/base.py']\n")
    with pytest.raises(ConfigFileError) as excinfo:
        Config.fromfile(path)
    assert _message(excinfo) == (
        f"{path}: _base_: got '../nope/base.py'; expected an existing config file (it resolves to "
        f"'{tmp_path / 'nope' / 'base.py'}'). Fix: correct the path; relative _base_ paths start from "
        f"{tmp_path / 'configs'}.")


def test_missing_config_file(tmp_path):
    path = tmp_path / "absent.py"
    with pytest.raises(ConfigFileError) as excinfo:
        Config.fromfile(path)
    assert _message(excinfo) == (f"{path}: got '{path}'; expected an existing config file. "
                                 f"Fix: check the path; it resolves to '{path}', which does not exist.")


@pytest.mark.parametrize("text, kind", [("- 1\n- 2\n", "list"), ("just text\n", "str")], ids=["list", "scalar"])
def test_yaml_that_is_not_a_mapping(write, text, kind):
    path = write("cfg.yaml", text)
    with pytest.raises(ConfigFileError) as excinfo:
        Config.fromfile(path)
    value = [1, 2] if kind == "list" else "just text"
    assert _message(excinfo) == (f"{path}: got {value!r}; expected a mapping of keys to values at the top level, "
                                 f"not a {kind}. Fix: write the config as `key: value` lines (YAML) or one {{...}} "
                                 "object (JSON).")


def test_yaml_syntax_error_names_line(write):
    path = write("cfg.yaml", "a: [1, 2\nb: 3\n")
    with pytest.raises(ConfigFileError, match=rf"^{path}:2: got \"expected ',' or ']', but got ':'\"; "
                                              r"expected valid YAML\. Fix: correct the YAML at that line\.$"):
        Config.fromfile(path)


def test_json_syntax_error_names_line(write):
    path = write("cfg.json", '{"a": 1,\n "b": }')
    with pytest.raises(ConfigFileError, match=rf"^{path}:2: got 'Expecting value'; expected valid JSON\. "
                                              r"Fix: correct the JSON at line 2, column 7\.$"):
        Config.fromfile(path)


def test_unknown_extension(write):
    path = write("cfg.toml", "a = 1\n")
    with pytest.raises(ConfigFileError) as excinfo:
        Config.fromfile(path)
    assert _message(excinfo) == (f"{path}: got '.toml'; expected a config file ending in one of "
                                 "['.json', '.py', '.yaml', '.yml']. Fix: rename the file or convert it to Python, "
                                 "JSON or YAML.")


def test_duplicate_key_in_two_bases_names_both_files(write, tmp_path):
    path = write("cfg.py", "_base_ = ['b1.py', 'b2.py']\n")
    write("b1.py", "a = 1\nb = 2\n")
    write("b2.py", "b = 3\n")
    with pytest.raises(ConfigFileError) as excinfo:
        Config.fromfile(path)
    assert _message(excinfo) == (
        f"{path}: _base_: got ['b']; expected each top-level key defined by only one base file, but "
        f"{tmp_path / 'b1.py'} and {tmp_path / 'b2.py'} both define it. Fix: remove 'b' from one of the two "
        f"base files, or set it only in {path}.")


def test_reference_to_missing_base_key_suggests_closest(write):
    path = write("cfg.py", "_base_ = 'base.py'\nx = {{_base_.model.dept}}\n")
    write("base.py", "model = dict(depth=1)\n")
    with pytest.raises(ConfigFileError) as excinfo:
        Config.fromfile(path)
    assert _message(excinfo) == (f"{path}: {{{{_base_.model.dept}}}}: got 'model.dept'; expected a key path defined "
                                 "by the _base_ files. Fix: did you mean _base_.model.depth?")


def test_reference_inside_an_expression(write):
    path = write("cfg.py", "_base_ = 'base.py'\nx = 'p' + {{_base_.a}}\n")
    write("base.py", "a = 'q'\n")
    with pytest.raises(ConfigFileError, match=r"\{\{_base_.a\}\}: got 'p\{\{_base_.a\}\}'; expected a reference "
                                              r"that stands alone as a whole value\. Fix: use the Python form "
                                              r"_base_.a inside expressions and strings\.$"):
        Config.fromfile(path)


def test_base_cycle(write, tmp_path):
    path = write("a.py", "_base_ = 'b.py'\n")
    write("b.py", "_base_ = 'a.py'\n")
    with pytest.raises(ConfigFileError) as excinfo:
        Config.fromfile(path)
    assert _message(excinfo) == (f"{tmp_path / 'b.py'}: _base_: got 'a.py'; expected a _base_ chain without cycles. "
                                 f"Fix: break the cycle {path} -> {tmp_path / 'b.py'} -> {path}.")


def test_child_dict_over_base_scalar(write):
    path = write("cfg.py", "_base_ = 'base.py'\na = dict(x=1)\n")
    write("base.py", "a = 1\n")
    with pytest.raises(ConfigFileError) as excinfo:
        Config.fromfile(path)
    assert _message(excinfo) == (f"{path}: a: got {{'x': 1}}; expected a value that can merge into the base value 1 "
                                 "(int). Fix: a dict merges only into a dict; add _delete_=True to the child dict to "
                                 "replace the base value instead of merging into it.")


def test_unset_environment_variable_without_default(write, monkeypatch):
    monkeypatch.delenv("MMHOOKS_UNSET_VAR", raising=False)
    path = write("cfg.py", "root = '{{$MMHOOKS_UNSET_VAR:}}'\n")
    with pytest.raises(ConfigFileError, match=r"cfg.py: \{\{\$MMHOOKS_UNSET_VAR:\}\}: got 'MMHOOKS_UNSET_VAR'; "
                                              r"expected an environment variable that is set, or a default\."):
        Config.fromfile(path)


def test_custom_import_that_fails(write):
    path = write("cfg.py", "custom_imports = dict(imports=['no_such_mod_xyz'])\n")
    with pytest.raises(ConfigError) as excinfo:
        Config.fromfile(path)
    assert _message(excinfo) == (
        "custom_imports.imports[0]: got 'no_such_mod_xyz'; expected an importable module (ModuleNotFoundError: "
        "No module named 'no_such_mod_xyz'). Fix: check the name, and add the directory that contains the package "
        "to PYTHONPATH (or pip install it); set allow_failed_imports=True to skip it.")


def test_custom_imports_unknown_key(write):
    path = write("cfg.py", "custom_imports = dict(import_=['os'])\n")
    with pytest.raises(ConfigError, match=r"^custom_imports.import_: got \['os'\]; expected a key of custom_imports "
                                          r"\(allow_failed_imports, imports\)\. Fix: rename it to 'imports'\.$"):
        Config.fromfile(path)


@pytest.mark.parametrize("items, message", [
    (["a.b"], "a.b: got 'a.b'; expected a --cfg-options item of the form KEY=VALUE. "
              "Fix: write the value after an '=', e.g. 'a.b=1'."),
    (["=1"], "=1: got '=1'; expected a --cfg-options item of the form KEY=VALUE with a non-empty KEY. "
             "Fix: put the dotted key path before the '=', e.g. 'model.depth=50'."),
    (["a=[1,2"], "a: got '[1,2'; expected a --cfg-options value whose brackets '(' ')' and '[' ']' are balanced. "
                 "Fix: close every bracket you open, and quote the whole item for your shell, e.g. \"a=[1,2]\"."),
    (["a=(1,2]"], "a: got '(1,2]'; expected a --cfg-options value whose brackets '(' ')' and '[' ']' are balanced. "
                  "Fix: close every bracket you open, and quote the whole item for your shell, e.g. \"a=[1,2]\"."),
], ids=["no_equals", "no_key", "unclosed", "mismatched"])
def test_bad_cfg_options(items, message):
    with pytest.raises(ConfigError) as excinfo:
        parse_cfg_options(items)
    assert _message(excinfo) == message


def test_dict_action_reports_bad_item_as_argparse_error(capsys):
    parser = argparse.ArgumentParser(prog="mmhooks")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    with pytest.raises(SystemExit) as excinfo:
        parser.parse_args(["--cfg-options", "a.b"])
    assert (excinfo.value.code, capsys.readouterr().err.splitlines()[-1]) == (
        2, "mmhooks: error: argument --cfg-options: a.b: got 'a.b'; expected a --cfg-options item of the form "
           "KEY=VALUE. Fix: write the value after an '=', e.g. 'a.b=1'.")


@pytest.mark.parametrize("options, message", [
    ({"l.5": 1}, "l[5]: got 1; expected an index below 2, the length of the base list. "
                 "Fix: use an index from 0 to 1, or replace the whole list."),
    ({"l.x": 1}, "l.x: got 1; expected a list index (the base value at l is a list). "
                 "Fix: address list elements by their position, e.g. 'pipeline.0.type'."),
], ids=["index_out_of_range", "name_into_list"])
def test_merge_from_dict_bad_list_keys(options, message):
    cfg = Config(dict(l=[1, 2]))
    with pytest.raises(ConfigError) as excinfo:
        cfg.merge_from_dict(options)
    assert _message(excinfo) == message


def test_merge_from_dict_dict_over_scalar_is_also_a_type_error():
    with pytest.raises(ConfigMergeError) as excinfo:
        Config(dict(d=dict(a=1))).merge_from_dict({"d.a.b": 1})
    assert isinstance(excinfo.value, TypeError)
    assert _message(excinfo).startswith("d.a: got {'b': 1}; expected a value that can merge into the base value 1")


def test_reserved_key():
    with pytest.raises(ConfigError, match=r"^filename: got 1; expected a key other than the reserved names "
                                          r"\['env_variables', 'filename', 'pretty_text', 'text'\]\."):
        Config(dict(filename=1))


def test_missing_attribute_names_key_path_and_closest_key():
    cfg = Config(dict(model=dict(backbone=dict(depth=50, dept_mult=2))))
    with pytest.raises(AttributeError) as excinfo:
        cfg.model.backbone.depht
    assert _message(excinfo) == ("model.backbone.depht: no such key. Fix: did you mean 'depth'? "
                                 "Keys: ['dept_mult', 'depth'].")


def test_dump_to_unknown_extension(tmp_path):
    path = tmp_path / "out.toml"
    with pytest.raises(ConfigFileError, match=rf"^{path}: got '.toml'; expected a file ending in one of"):
        Config(dict(a=1)).dump(path)
