"""mmhooks.fileio's local backend, FileClient and io functions against mmengine.fileio on the same files."""

from __future__ import annotations

import pytest

mm_fileio = pytest.importorskip("mmengine.fileio")

import mmhooks.fileio as fileio  # noqa: E402


def _tree(root):
    for name in ("a.py", "b.txt", ".hidden", "sub/c.py", "sub/deep/d.txt"):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    return root


@pytest.mark.parametrize("kwargs", [{}, {"list_dir": False}, {"list_file": False}, {"list_dir": False,
                                    "suffix": ".py", "recursive": True}, {"recursive": True}])
def test_list_dir_or_file_matches(tmp_path, kwargs):
    root = _tree(tmp_path)
    assert sorted(fileio.list_dir_or_file(root, **kwargs)) == sorted(mm_fileio.list_dir_or_file(str(root), **kwargs))
    assert sorted(fileio.LocalBackend().list_dir_or_file(root, **kwargs)) == \
        sorted(mm_fileio.LocalBackend().list_dir_or_file(str(root), **kwargs))


def test_local_operations_match(tmp_path):
    root = _tree(tmp_path)
    for ns, tag in ((fileio, "mine"), (mm_fileio, "theirs")):
        ns.put(b"bytes", str(root / tag / "x.bin"))
        ns.put_text("text", str(root / tag / "y.txt"))
        assert ns.get(str(root / tag / "x.bin")) == b"bytes" and ns.get_text(str(root / tag / "y.txt")) == "text"
        assert (ns.exists(str(root / tag)), ns.isdir(str(root / tag)), ns.isfile(str(root / tag / "x.bin"))) == \
            (True, True, True)
        ns.copyfile(str(root / tag / "x.bin"), str(root / tag / "copy.bin"))
        ns.copytree(str(root / "sub"), str(root / tag / "subcopy"))
        with ns.get_local_path(str(root / tag / "copy.bin")) as local:
            assert str(local) == str(root / tag / "copy.bin")
        ns.remove(str(root / tag / "copy.bin"))
        with pytest.raises(FileNotFoundError):
            ns.remove(str(root / tag / "copy.bin"))
        with pytest.raises(IsADirectoryError):
            ns.remove(str(root / tag / "subcopy"))
        ns.rmtree(str(root / tag / "subcopy"))
        assert ns.join_path(str(root), "a", "b") == str(root / "a" / "b")
    assert sorted(p.name for p in (root / "mine").iterdir()) == sorted(p.name for p in (root / "theirs").iterdir())


def test_file_client_and_backend_selection_match(tmp_path):
    for ns in (fileio, mm_fileio):
        client = ns.FileClient.infer_client(None, str(tmp_path))
        assert client is ns.FileClient(backend="disk")  # one client per arguments
        assert client.name == "HardDiskBackend" and client.allow_symlink
        assert ns.FileClient.parse_uri_prefix("s3://bucket/x") == "s3"
        assert ns.FileClient.parse_uri_prefix("cluster:s3://bucket/x") == "s3"
        assert ns.FileClient.parse_uri_prefix(str(tmp_path)) is None
        with pytest.raises(ValueError):
            ns.FileClient(backend="nope")
        backend = ns.get_file_backend(str(tmp_path))
        assert type(backend).__name__ == "LocalBackend"
        with pytest.raises(KeyError):
            ns.get_file_backend("unknownscheme://x")
        with pytest.raises(KeyError):
            ns.get_file_backend(None, backend_args={"backend": "nope"})
        with pytest.raises(ValueError):
            ns.get_file_backend(None)
    with pytest.raises(ImportError, match="local files only"):
        fileio.get_file_backend("s3://bucket/x")


def test_register_backend_like_mmengine():
    class Memory(fileio.BaseStorageBackend):
        def get(self, filepath):
            return b"m"

        def get_text(self, filepath, encoding="utf-8"):
            return "m"

    fileio.register_backend("mmtests_memory", Memory, prefixes="mmtestsmem", force=True)
    assert fileio.get_file_backend("mmtestsmem://x").get("mmtestsmem://x") == b"m"
    with pytest.raises(KeyError):
        fileio.register_backend("mmtests_memory", Memory)
    with pytest.raises(TypeError):
        fileio.register_backend("mmtests_bad", dict)
