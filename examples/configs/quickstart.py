# The main job of the README: a small CNN on synthetic images, trained on the Lightning Trainer.
# Linear warm-up then cosine annealing, the best checkpoint by accuracy, EMA weights and TensorBoard logs.
_base_ = ["./_base_/default_runtime.py", "./_base_/synthetic_images.py"]

model = dict(
    type="SmallCNN",
    num_classes=4,
    width=16,
    data_preprocessor=dict(type="ImgDataPreprocessor", mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0]),
)
train_cfg = dict(by_epoch=True, max_epochs=4, val_interval=1)
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=16),
    dict(type="CosineAnnealingLR", T_max=3, by_epoch=True, begin=1, end=4, convert_to_iter_based=True),
]
# EMA of the weights, validated and saved in place of the raw ones. MMEngine's momentum is the weight of the
# newest parameters: 0.1 averages over roughly the last 10 of this run's 64 iterations (4 epochs x 16 batches).
# MMEngine's default, 0.0002, suits runs of ~10^5 iterations; on a run this short it validates almost the
# initial weights (chance accuracy).
custom_hooks = [dict(type="EMAHook", momentum=0.1, priority="ABOVE_NORMAL")]
work_dir = "./work_dirs/quickstart"
