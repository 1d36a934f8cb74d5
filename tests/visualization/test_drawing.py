"""The draw_* API against MMEngine's Visualizer on the same inputs: pixel equality, checks, warnings."""

from __future__ import annotations

import builtins
import itertools
import warnings

import numpy as np
import pytest
import torch

pytest.importorskip("matplotlib")
mmengine_vis = pytest.importorskip("mmengine.visualization")

from mmhooks.visualization import Visualizer  # noqa: E402
from mmhooks.visualization import utils as vis_utils  # noqa: E402

_ids = itertools.count()
IMAGE = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
MASKS = np.zeros((2, 48, 64), dtype=bool)
MASKS[0, 5:20, 5:30] = True
MASKS[1, 10:40, 20:60] = True

# (method, args, kwargs): the same call is made on mmhooks' and MMEngine's visualizer.
DRAWINGS = {
    "bboxes": ("draw_bboxes", (np.array([[2, 3, 30, 40], [10, 5, 60, 20]]),),
               dict(edge_colors=["r", (0, 0, 255)], line_widths=[1, 3], face_colors="y", alpha=0.5)),
    "bbox_tensor_default": ("draw_bboxes", (torch.tensor([1.5, 2.0, 20.0, 30.5]),), {}),
    "texts": ("draw_texts", (["hi", "there"], np.array([[5, 5], [20, 30]])),
              dict(colors=["b", (255, 0, 0)], font_sizes=[8, 12], bboxes=dict(facecolor="w", alpha=0.6))),
    "text_defaults": ("draw_texts", ("MMEngine", torch.tensor([2, 2])), {}),
    "lines": ("draw_lines", (np.array([[1, 60], [5, 30]]), np.array([[2, 40], [45, 3]])),
              dict(colors="r", line_styles=["-", "--"], line_widths=[1, 2])),
    "circles": ("draw_circles", (np.array([[20, 20], [40, 30]]), np.array([5, 9])),
                dict(edge_colors=["g", "r"], face_colors=(255, 0, 0), line_widths=[1, 8])),
    "polygons": ("draw_polygons", ([np.array([[1, 1], [30, 5], [20, 40]]), torch.tensor([[40, 10], [60, 10], [50, 45]])],),
                 dict(edge_colors=["r", "g"], line_styles="-", line_widths=[2, 1])),
    "masks": ("draw_binary_masks", (MASKS,), dict(colors=["r", (0, 255, 0)], alphas=0.3)),
    "mask_default": ("draw_binary_masks", (torch.from_numpy(MASKS[1]),), {}),
    "points": ("draw_points", (np.array([[3, 4], [30, 30]]),),
               dict(colors=["g", (255, 255, 0)], marker="s", sizes=np.array([5, 40]))),
}


def _pair(**kwargs):
    ours = Visualizer(f"ours-{next(_ids)}", image=IMAGE, **kwargs)
    theirs = mmengine_vis.Visualizer(f"theirs-{next(_ids)}", image=IMAGE, **kwargs)
    return ours, theirs


@pytest.mark.parametrize("case", sorted(DRAWINGS))
def test_drawing_equals_mmengine_pixel_for_pixel(case):
    method, args, kwargs = DRAWINGS[case]
    ours, theirs = _pair()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert getattr(ours, method)(*args, **kwargs) is ours  # chainable, as in MMEngine
        getattr(theirs, method)(*args, **kwargs)
    mine, reference = ours.get_image(), theirs.get_image()
    assert mine.shape == reference.shape == IMAGE.shape and mine.dtype == reference.dtype == np.uint8
    np.testing.assert_array_equal(mine, reference)
    assert (mine != IMAGE).any()  # something was drawn


def test_chained_drawing_and_new_image_equal_mmengine():
    images = []
    for vis in _pair():
        vis.draw_bboxes(torch.tensor([1, 1, 12, 12])).draw_texts("t", torch.tensor([5, 5])).draw_lines(
            torch.tensor([1, 5]), torch.tensor([2, 6])
        ).draw_circles(torch.tensor([30, 20]), torch.tensor([4])).draw_binary_masks(MASKS[0])
        vis.set_image(IMAGE[:20, :30])  # a new image clears the drawing and resizes the canvas
        vis.draw_polygons(np.array([[1, 1], [10, 3], [5, 15]]))
        images.append(vis.get_image())
    assert images[0].shape == (20, 30, 3)
    np.testing.assert_array_equal(images[0], images[1])


def test_fig_save_cfg_and_large_image_equal_mmengine():
    big = np.random.default_rng(1).integers(0, 256, (300, 420, 3), dtype=np.uint8)
    ours = Visualizer(f"ours-{next(_ids)}", image=big, fig_save_cfg=dict(frameon=True))
    theirs = mmengine_vis.Visualizer(f"theirs-{next(_ids)}", image=big, fig_save_cfg=dict(frameon=True))
    assert ours._default_font_size == theirs._default_font_size
    for vis in (ours, theirs):
        vis.draw_texts("large", np.array([10, 10])).draw_bboxes(np.array([5, 5, 200, 100]), line_widths=9)
    np.testing.assert_array_equal(ours.get_image(), theirs.get_image())


FEATMAPS = {
    "squeeze_mean": dict(),
    "select_max_overlaid": dict(overlaid_image=IMAGE[:12, :16], channel_reduction="select_max"),
    "overlaid_interpolated": dict(overlaid_image=IMAGE),
    "resize_shape": dict(overlaid_image=IMAGE, resize_shape=(30, 40)),
    "grid": dict(channel_reduction=None, topk=4, arrangement=(2, 2)),
    "grid_gray_overlay": dict(overlaid_image=IMAGE[:12, :16, 0], channel_reduction=None, topk=3, arrangement=(1, 3)),
    "three_channels": dict(channel_reduction=None, topk=0),
    "alpha": dict(overlaid_image=IMAGE[:12, :16], alpha=0.3),
}


@pytest.mark.parametrize("case", sorted(FEATMAPS))
def test_draw_featmap_equals_mmengine(case):
    featmap = torch.randn(6, 12, 16, generator=torch.Generator().manual_seed(3))
    if case == "three_channels":
        featmap = featmap[:3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine = Visualizer.draw_featmap(featmap, **FEATMAPS[case])
        reference = mmengine_vis.Visualizer.draw_featmap(featmap, **FEATMAPS[case])
    assert mine.dtype == np.uint8 and mine.shape == reference.shape
    np.testing.assert_array_equal(mine, reference)


def test_featmap_without_opencv_is_close_to_mmengine(monkeypatch):
    """Without OpenCV, matplotlib's jet and torch's resize stand in: same shape and dtype, close pixels."""
    full = torch.randn(6, 12, 16, generator=torch.Generator().manual_seed(4))
    inputs = {case: full[:3] if case == "three_channels" else full for case in FEATMAPS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        references = {case: mmengine_vis.Visualizer.draw_featmap(inputs[case], **kw) for case, kw in FEATMAPS.items()}
        monkeypatch.setattr(vis_utils, "_cv2", lambda: None)
        for case, kwargs in FEATMAPS.items():
            mine = Visualizer.draw_featmap(inputs[case], **kwargs)
            assert mine.shape == references[case].shape and mine.dtype == np.uint8, case
            diff = np.abs(mine.astype(int) - references[case].astype(int))
            # matplotlib's jet differs from OpenCV's table by up to ~32 levels per channel
            assert diff.mean() < 12 and diff.max() <= 48, (case, diff.mean(), diff.max())


def test_add_weighted_and_normalize_round_as_opencv():
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(5)
    for alpha in (0.3, 0.45, 0.5, 0.8, 1 / 3):
        first, second = (rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2))
        np.testing.assert_array_equal(
            vis_utils.add_weighted(first, 1 - alpha, second, alpha), cv2.addWeighted(first, 1 - alpha, second, alpha, 0)
        )
    for scale in (0.01, 1.0, 300.0):
        feat = (torch.randn(5, 37, 53, generator=torch.Generator().manual_seed(int(scale))) * scale).mean(0).numpy()
        reference = np.asarray(cv2.normalize(feat, np.zeros(feat.shape), 0, 255, cv2.NORM_MINMAX), dtype=np.uint8)
        np.testing.assert_array_equal(vis_utils._normalize_to_uint8(feat), reference)
    colour = rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    np.testing.assert_array_equal(vis_utils._bgr_to_gray(colour), cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY))


# ------------------------------------------------------------- argument checks
def _raises_like_mmengine(method, args, kwargs, error):
    ours, theirs = _pair()
    with pytest.raises(error):
        getattr(theirs, method)(*args, **kwargs)
    with pytest.raises(error) as caught:
        getattr(ours, method)(*args, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    "method, args, kwargs, error",
    [
        ("draw_bboxes", ([1, 1, 2, 2],), {}, TypeError),
        ("draw_bboxes", (torch.tensor([5, 1, 2, 2]),), {}, AssertionError),
        ("draw_bboxes", (np.array([1, 2, 3]),), {}, AssertionError),
        ("draw_points", ([1, 2],), {}, TypeError),
        ("draw_points", (np.array([1, 2, 3], dtype=object),), {}, AssertionError),
        ("draw_texts", ("text", [5, 5]), {}, TypeError),
        ("draw_texts", (["a", "b"], torch.tensor([5, 5])), {}, AssertionError),
        ("draw_texts", (["a", "b"], torch.tensor([[5, 5], [3, 3]])), dict(colors=["r"]), AssertionError),
        ("draw_texts", (["a", "b"], torch.tensor([[5, 5], [3, 3]])), dict(font_sizes="b"), TypeError),
        ("draw_texts", (["a", "b"], torch.tensor([[5, 5], [3, 3]])), dict(vertical_alignments=["top"]),
         AssertionError),
        ("draw_lines", ([5, 5], torch.tensor([2, 6])), {}, TypeError),
        ("draw_lines", (torch.tensor([1, 5]), torch.tensor([[2, 6], [4, 7]])), {}, AssertionError),
        ("draw_circles", ([1, 5], torch.tensor([1])), {}, TypeError),
        ("draw_circles", (np.array([1, 5]), 10), {}, TypeError),
        ("draw_circles", (torch.tensor([[1, 5]]), torch.tensor([1, 2])), {}, AssertionError),
        ("draw_polygons", (np.array([[1, 2, 3]]),), {}, AssertionError),
        ("draw_binary_masks", (np.ones((8, 10), dtype=bool),), {}, AssertionError),
        ("draw_binary_masks", (np.ones((48, 64), dtype=np.uint8),), {}, AssertionError),
        ("draw_binary_masks", (MASKS[0],), dict(colors=(1, 2, 3, 4)), AssertionError),
        ("draw_bboxes", (np.array([1, 1, 2, 2]),), dict(edge_colors=(300, 0, 0)), AssertionError),
    ],
)
def test_bad_arguments_raise_mmengine_error_classes(method, args, kwargs, error):
    raised = _raises_like_mmengine(method, args, kwargs, error)
    if error is AssertionError:  # mmhooks' shape errors are also ValueErrors with a message
        assert isinstance(raised, ValueError) and str(raised)


@pytest.mark.parametrize(
    "method, args, match",
    [
        ("draw_bboxes", (torch.tensor([1, 1, 80, 2]),), "The bbox is out of bounds"),
        ("draw_texts", ("t", torch.tensor([70, 5])), "The text is out of bounds"),
        ("draw_lines", (torch.tensor([72, 5]), torch.tensor([2, 6])), "The line is out of bounds"),
        ("draw_circles", (torch.tensor([1, 5]), torch.tensor([10])), "The circle is out of bounds"),
        ("draw_polygons", (torch.tensor([[1, 1], [2, 2], [66, 4]]),), "The polygon is out of bounds"),
    ],
)
def test_out_of_bounds_warnings_as_mmengine(method, args, match):
    ours, theirs = _pair()
    for vis in (ours, theirs):
        with pytest.warns(UserWarning, match=f"Warning: {match}, the drawn"):
            getattr(vis, method)(*args)


@pytest.mark.parametrize(
    "kwargs, featmap, match",
    [
        ({}, np.ones((3, 3, 3)), "`featmap` should be torch.Tensor"),
        ({}, torch.randn(1, 1, 3, 3), "Input dimension must be 3, but got 4"),
        (dict(channel_reduction="xx"), torch.randn(2, 3, 3), "Mode only support"),
        (dict(channel_reduction=None, topk=0), torch.randn(6, 3, 3), "must be 1 or 3 when topk is less than 1"),
        (dict(channel_reduction=None, topk=4, arrangement=(1, 2)), torch.randn(6, 3, 3), "product of row and col"),
    ],
)
def test_featmap_checks_as_mmengine(kwargs, featmap, match):
    with pytest.raises(AssertionError, match=match):
        mmengine_vis.Visualizer.draw_featmap(featmap, **kwargs)
    with pytest.raises(AssertionError, match=match):
        Visualizer.draw_featmap(featmap, **kwargs)


def test_drawing_needs_an_image_and_set_image_rejects_none():
    vis = Visualizer(f"v-{next(_ids)}")
    with pytest.raises(ValueError, match="no image is set. Fix: call set_image"):
        vis.draw_bboxes(np.array([0, 0, 1, 1]))
    with pytest.raises(AssertionError):  # MMEngine asserts too
        vis.set_image(None)


def test_figure_is_made_on_first_drawing_only():
    vis = Visualizer(f"v-{next(_ids)}")
    assert vis._canvas is None
    vis.set_image(IMAGE)
    assert vis._canvas is not None and vis.fig_save.get_dpi() == vis.dpi


def test_missing_matplotlib_names_the_plot_extra(monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    monkeypatch.setattr(vis_utils.importlib, "import_module", lambda name: no_matplotlib(name))
    vis = Visualizer(f"v-{next(_ids)}")  # scalars-only use needs no matplotlib
    with pytest.raises(ImportError, match=r"pip install 'mmhooks\[plot\]'"):
        vis.set_image(IMAGE)


# ------------------------------------------------------------------------ show
def test_show_on_a_headless_backend_warns_instead_of_blocking():
    import matplotlib

    assert matplotlib.get_backend().lower() == "agg"  # no display in the test environment
    vis = Visualizer(f"v-{next(_ids)}", image=IMAGE)
    with pytest.warns(UserWarning, match="cannot open a window; nothing is displayed"):
        assert vis.show(wait_time=0) is None
    with pytest.warns(UserWarning, match="nothing is displayed"):
        vis.show(drawn_img=IMAGE, backend="cv2")
    with pytest.raises(ValueError, match='backend should be "matplotlib" or "cv2"'):
        vis.show(backend="unknown")
