# Synthetic 16x16 RGB images in 4 classes: no download needed.
custom_imports = dict(imports=["mmhooks.testing.examples"], allow_failed_imports=False)
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    dataset=dict(type="SyntheticImages", num_samples=256, seed=0),
    sampler=dict(type="DefaultSampler", shuffle=True),
    collate_fn=dict(type="default_collate"),
)
val_dataloader = dict(
    batch_size=32,
    num_workers=0,
    dataset=dict(type="SyntheticImages", num_samples=128, seed=1),
    sampler=dict(type="DefaultSampler", shuffle=False),
    collate_fn=dict(type="default_collate"),
)
test_dataloader = dict(
    batch_size=32,
    num_workers=0,
    dataset=dict(type="SyntheticImages", num_samples=128, seed=2),  # held out: neither trained on nor validated
    sampler=dict(type="DefaultSampler", shuffle=False),
    collate_fn=dict(type="default_collate"),
)
val_evaluator = dict(type="TopOneAccuracy")
test_evaluator = val_evaluator
val_cfg = dict()
test_cfg = dict()
