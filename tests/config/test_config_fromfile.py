"""Config.fromfile against MMEngine's Config.fromfile on the same files (differential)."""

from __future__ import annotations

import pytest

from mmhooks.config import Config, ConfigDict

mmengine_config = pytest.importorskip("mmengine.config")

# Each case: files to write (the first is read), written under tmp_path.
CASES = {
    "single_py": {
        "cfg.py": """
            model = dict(type='Net', depth=18, stages=(1, 2), act=dict(type='ReLU'))
            lr = 0.1 * 2
            _private = 'kept, like MMEngine'
            __dunder = 'dropped'
            def helper():
                return 1
            names = [k for k in ('a', 'b')]
            """,
    },
    "one_base_override": {
        "cfg.py": """
            _base_ = './base.py'
            model = dict(depth=50, neck=dict(out=256))
            lr = 0.2
            """,
        "base.py": """
            model = dict(type='Net', depth=18, neck=dict(type='FPN', out=128))
            lr = 0.1
            epochs = 12
            """,
    },
    "list_of_bases_nested": {
        "cfg.py": """
            _base_ = ['./_base_/model.py', './_base_/schedule.py']
            optim_wrapper = dict(optimizer=dict(lr=0.05))
            """,
        "_base_/model.py": """
            _base_ = './default_model.py'
            model = dict(depth=34)
            """,
        "_base_/default_model.py": """
            model = dict(type='ResNet', depth=18, norm=dict(type='BN'))
            """,
        "_base_/schedule.py": """
            optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
            param_scheduler = [dict(type='LinearLR', start_factor=0.1, end=5), dict(type='CosineAnnealingLR')]
            train_cfg = dict(by_epoch=True, max_epochs=20)
            """,
    },
    "delete_replaces_base_dict": {
        "cfg.py": """
            _base_ = 'base.py'
            optim_wrapper = dict(optimizer=dict(_delete_=True, type='Adam', lr=1e-3))
            model = dict(_delete_=True, type='Other')
            """,
        "base.py": """
            optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
            model = dict(type='Net', depth=18)
            """,
    },
    "reference_to_base_value": {
        "cfg.py": """
            _base_ = ['base.py']
            val_dataloader = dict(dataset={{_base_.train_dataloader.dataset}}, batch_size=2)
            scale = {{ _base_.img_scale }}
            depth_plus = _base_.model.depth + 1
            train_dataloader = dict(batch_size=_base_.train_dataloader.batch_size * 2)
            """,
        "base.py": """
            img_scale = (640, 480)
            model = dict(depth=18)
            train_dataloader = dict(batch_size=4, dataset=dict(type='Toy', root='data/'))
            """,
    },
    "relative_parent_path": {
        "configs/exp/cfg.py": """
            _base_ = '../../defaults/runtime.py'
            default_hooks = dict(checkpoint=dict(interval=2))
            """,
        "defaults/runtime.py": """
            default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1), logger=dict(type='LoggerHook'))
            log_level = 'INFO'
            """,
    },
    "predefined_variables": {
        "exp/my_exp.py": """
            work_dir = './work_dirs/{{ fileBasenameNoExtension }}'
            here = '{{fileDirname}}'
            name = '{{ fileBasename }}'
            ext = '{{ fileExtname }}'
            """,
    },
    "yaml_child_of_py_base": {
        "cfg.yaml": """
            _base_: base.py
            model:
              depth: 50
              stages: [1, 2]
            extra: {a: 1}
            """,
        "base.py": """
            model = dict(type='Net', depth=18, stages=[3, 4])
            """,
    },
    "json_child_of_yaml_base_with_delete": {
        "cfg.json": """
            {"_base_": ["base.yml"], "model": {"_delete_": true, "type": "J"}, "lr": 0.5}
            """,
        "base.yml": """
            model:
              type: Y
              depth: 3
            lr: 0.1
            """,
    },
    "py_child_of_json_and_yaml_bases": {
        "cfg.py": """
            _base_ = ['a.json', 'b.yaml']
            a = dict(x=2)
            """,
        "a.json": '{"a": {"x": 1, "y": [1, 2]}}',
        "b.yaml": "b: {z: null, t: true}\n",
    },
    "yaml_reference": {
        "cfg.yaml": """
            _base_: [base.yaml]
            copy_of_model: {{_base_.model}}
            """,
        "base.yaml": """
            model: {type: M, depth: 1}
            """,
    },
    "list_values_replace_not_merge": {
        "cfg.py": """
            _base_ = 'base.py'
            custom_hooks = [dict(type='EMAHook')]
            """,
        "base.py": """
            custom_hooks = [dict(type='EmptyCacheHook'), dict(type='SyncBuffersHook')]
            """,
    },
}


@pytest.mark.parametrize("files", CASES.values(), ids=CASES.keys())
def test_fromfile_matches_mmengine(files, write):
    paths = [write(name, text) for name, text in files.items()]
    ours = Config.fromfile(paths[0])
    theirs = mmengine_config.Config.fromfile(str(paths[0]))
    assert ours.to_dict() == theirs.to_dict()
    assert ours.text == theirs.text


def test_nested_values_are_config_dicts_with_attribute_access(write):
    path = write("cfg.py", "model = dict(backbone=dict(depth=50), heads=[dict(n=1), (dict(n=2),)])\n")
    cfg = Config.fromfile(path)
    assert isinstance(cfg.model.backbone, ConfigDict)
    assert (cfg.model.backbone.depth, cfg.model.heads[0].n, cfg.model.heads[1][0].n) == (50, 1, 2)
    assert cfg["model"]["backbone"]["depth"] == 50
    assert cfg.filename == str(path)


def test_delete_key_without_base_value_is_dropped_unlike_mmengine(write):
    # MMengine keeps the `_delete_` key when there is nothing to delete; building such a dict then fails.
    path = write("cfg.py", "_base_ = 'base.py'\nnew = dict(_delete_=True, a=1)\nold = dict(inner=dict(_delete_=True, b=2))\n")
    write("base.py", "old = dict(c=3)\n")
    assert Config.fromfile(path).to_dict() == {"old": {"c": 3, "inner": {"b": 2}}, "new": {"a": 1}}
    assert mmengine_config.Config.fromfile(str(path)).to_dict()["new"] == {"_delete_": True, "a": 1}


def test_standard_library_imports_run_as_plain_python(write):
    # MMEngine's own check of "built-in module" depends on where Python is installed (in a venv it calls
    # `os` third-party and switches to lazy mode); mmhooks uses sys.stdlib_module_names.
    path = write("cfg.py", "import os.path as osp\nfrom math import pi\ndef f():\n    return 1\nroot = osp.join('a', 'b')\nr = pi\n")
    assert Config.fromfile(path).to_dict() == {"pi": 3.141592653589793, "root": "a/b", "r": 3.141592653589793}


def test_environment_variables(write, monkeypatch):
    path = write("cfg.py", "root = '{{$MMHOOKS_TEST_ROOT:/default}}/images'\nn = {{'$MMHOOKS_TEST_N:80'}}\n")
    monkeypatch.setenv("MMHOOKS_TEST_ROOT", "/data")
    cfg = Config.fromfile(path)
    assert (cfg.root, cfg.n) == ("/data/images", 80)
    assert cfg.env_variables == {"MMHOOKS_TEST_ROOT": "/data"}
    assert cfg.to_dict() == mmengine_config.Config.fromfile(str(path)).to_dict()


def test_custom_imports_are_imported(write, tmp_path, monkeypatch):
    write("my_ext/__init__.py", "")
    write("my_ext/hooks.py", "IMPORTED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = write("cfg.py", "custom_imports = dict(imports=['my_ext.hooks'], allow_failed_imports=False)\n")
    import sys

    monkeypatch.delitem(sys.modules, "my_ext.hooks", raising=False)
    Config.fromfile(path)
    assert sys.modules["my_ext.hooks"].IMPORTED is True


def test_custom_imports_allowed_failure_warns(write):
    path = write("cfg.py", "custom_imports = dict(imports=['no_such_mod_xyz'], allow_failed_imports=True)\n")
    with pytest.warns(UserWarning, match=r"custom_imports.imports\[0\]: 'no_such_mod_xyz' failed to import"):
        Config.fromfile(path)


def test_fromstring_each_format():
    assert Config.fromstring("a = dict(b=1)\n", ".py").a.b == 1
    assert Config.fromstring('{"a": {"b": 1}}', "json").to_dict() == {"a": {"b": 1}}
    assert Config.fromstring("a:\n  b: [1, 2]\n", ".yaml").a.b == [1, 2]


def test_deprecation_key_warns_and_is_removed(write):
    path = write("old.py", "_deprecation_ = dict(expected='new.py', reference='https://x')\na = 1\n")
    with pytest.warns(DeprecationWarning, match=r"old.py: this config file is deprecated. Use new.py instead."):
        cfg = Config.fromfile(path)
    assert cfg.to_dict() == {"a": 1}
